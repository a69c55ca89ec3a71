#!/usr/bin/env bash
# docker-entrypoint.sh of the postgres stand-in (offline/standins.py, _make_postgres): what the
# official image's entrypoint does that a service or a check notices, step by step, each with
# the function of docker-library/postgres's script it mirrors (read at commit 6edb0a8c,
# 17/trixie/docker-entrypoint.sh). What it leaves out is listed in _make_postgres's docstring.
set -Eeo pipefail

# file_env: VAR, or the file VAR_FILE names (Docker and Compose secrets), never both.
file_env() {
	local var="$1" file_var="${1}_FILE" value="${2:-}"
	if [ "${!var:-}" ] && [ "${!file_var:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var"
		exit 1
	fi
	if [ "${!var:-}" ]; then
		value="${!var}"
	elif [ "${!file_var:-}" ]; then
		value="$(<"${!file_var}")"
	fi
	export "$var"="$value"
	unset "$file_var"
}

# docker_process_sql: psql on the set-up server's socket as POSTGRES_USER, in POSTGRES_DB; a
# sourced initdb.d script may call it (or "${psql[@]}"), as on the official image.
docker_process_sql() {
	local runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		runner+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

# _pg_want_help: arguments with which postgres prints something and exits: no set-up then.
want_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

# _main: a first argument that looks like a flag is one for the server.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && ! want_help "$@"; then
	# docker_setup_env: the settings (each may come from a file); a cluster already in PGDATA
	# (its PG_VERSION file) is used as it is.
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	database_exists=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		database_exists=true
	fi

	# docker_create_db_directories: PGDATA private to its owner, the socket folder; as root,
	# both given to postgres (a new volume or bind mount may belong to root).
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ "$(id -u)" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
		# Then again as postgres (uid 999), with gosu, as the official image does.
		exec gosu postgres "$0" "$@"
	fi

	if [ -z "$database_exists" ]; then
		# docker_verify_minimum_env: no cluster without a superuser password, unless trust is
		# asked for (with a warning); the official words.
		if [ -z "$POSTGRES_PASSWORD" ] && [ 'trust' != "$POSTGRES_HOST_AUTH_METHOD" ]; then
			cat >&2 <<-'EOE'
				Error: Database is uninitialized and superuser password is not specified.
				       You must specify POSTGRES_PASSWORD to a non-empty value for the
				       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

				       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
				       connections without a password. This is *not* recommended.

				       See PostgreSQL documentation about "trust":
				       https://www.postgresql.org/docs/current/auth-trust.html
			EOE
			exit 1
		fi
		if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
			cat >&2 <<-'EOWARN'
				********************************************************************************
				WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
				         anyone with access to the Postgres port to access your database without
				         a password, even if POSTGRES_PASSWORD is set. See PostgreSQL
				         documentation about "trust":
				         https://www.postgresql.org/docs/current/auth-trust.html
				         In Docker's default configuration, this is effectively any other
				         container on the same system.

				         It is not recommended to use POSTGRES_HOST_AUTH_METHOD=trust. Replace
				         it with "-e POSTGRES_PASSWORD=password" instead to set a password in
				         "docker run".
				********************************************************************************
			EOWARN
		fi
		# Fail before initdb when the scripts' folder cannot be read.
		ls /docker-entrypoint-initdb.d/ >/dev/null

		# docker_init_database_dir: the cluster, its superuser POSTGRES_USER with the password;
		# POSTGRES_INITDB_ARGS split as a shell would (hence eval, as upstream).
		eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"

		# pg_setup_hba_conf: connections over TCP from any host authenticate with the server's
		# password_encryption (scram-sha-256), or POSTGRES_HOST_AUTH_METHOD; initdb's own lines
		# (trust on the socket and loopback, inside the container) come first, as upstream.
		auth="$(postgres -C password_encryption "${@:2}")"
		: "${POSTGRES_HOST_AUTH_METHOD:=$auth}"
		{
			printf '\n'
			if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
				printf '# warning trust is enabled for all connections\n'
				printf '# see https://www.postgresql.org/docs/17/auth-trust.html\n'
			fi
			printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
		} >>"$PGDATA/pg_hba.conf"

		# docker_temp_server_start: a server on the socket only, for the set-up.
		export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
		NOTIFY_SOCKET='' PGUSER="${PGUSER:-$POSTGRES_USER}" \
			pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${@:2}" -c listen_addresses='' -p "${PGPORT:-5432}")" -w start

		# docker_setup_db: POSTGRES_DB, unless it is there already (postgres); asked in the
		# postgres database.
		db="$POSTGRES_DB"
		found="$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" --tuples-only <<<"SELECT 1 FROM pg_database WHERE datname = :'db' ;")"
		if [ -z "$found" ]; then
			POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$db" <<<'CREATE DATABASE :"db" ;'
			printf '\n'
		fi

		# docker_process_init_files: /docker-entrypoint-initdb.d/, in name order, once: *.sh run
		# when executable, sourced otherwise; *.sql (and compressed) through psql.
		# shellcheck disable=SC2034 # for sourced scripts, as upstream
		psql=(docker_process_sql)
		printf '\n'
		for f in /docker-entrypoint-initdb.d/*; do
			case "$f" in
				*.sh)
					if [ -x "$f" ]; then
						printf '%s: running %s\n' "$0" "$f"
						"$f"
					else
						printf '%s: sourcing %s\n' "$0" "$f"
						# shellcheck source=/dev/null
						. "$f"
					fi
					;;
				*.sql) printf '%s: running %s\n' "$0" "$f"; docker_process_sql -f "$f"; printf '\n' ;;
				*.sql.gz) printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | docker_process_sql; printf '\n' ;;
				*.sql.xz) printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | docker_process_sql; printf '\n' ;;
				*.sql.zst) printf '%s: running %s\n' "$0" "$f"; zstd -dc "$f" | docker_process_sql; printf '\n' ;;
				*) printf '%s: ignoring %s\n' "$0" "$f" ;;
			esac
			printf '\n'
		done

		# docker_temp_server_stop
		PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
		unset PGPASSWORD
		printf '\nPostgreSQL init process complete; ready for start up.\n\n'
	else
		printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
	fi
fi

# The server (or whatever command was given) as PID 1, so STOPSIGNAL reaches it.
exec "$@"
