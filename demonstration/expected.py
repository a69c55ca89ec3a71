"""What the bad baseline gets wrong, and the evidence: the outcome of every check of the
contract (tests/contract) on ``shortlink:baseline``, in one table.

``fails(PATTERN)``: the check must run to the end and fail, its evidence matching PATTERN (the
stated reason, never its size or count). ``SAME_HERE``: the check is not run on the baseline,
and the run lists it with the reason: what it proves is the service's, or a property the
baseline happens to have too; its negative control, where it has one, is named.

The baseline is held to every promise any of the service's images makes (tests/service.py,
``IMAGES``: no shell, no package manager, no pip, the smallest size cap), so that each such
check has a negative control here.
"""

from tests.contract.profile import Expected, fails

# The argv that runs the baseline's Python: poetry's venv, outside the PATH.
PYTHON = ("poetry", "run", "python")
# Killed at the end of `docker stop --time 3` (tests/contract/test_runtime.py): 3 s or more,
# as long as the engine takes to report it on a busy machine (4.1 s observed).
KILLED = r"exit code 137 after ([3-9]|\d\d)\.\d s"
NO_HEALTHCHECK = r"has no HEALTHCHECK"

OUTCOMES: dict[str, Expected] = {
    # test_attack_surface.py
    "test_has_no_shell": fails(r"shells \[.*bin/(ba|da)?sh'"),
    "test_has_no_package_manager": fails(r"package managers \[.*bin/(dpkg|apt)"),
    "test_has_no_pip_anywhere": fails(r"pip \[.*pip"),
    # test_hardening.py
    "test_runs_read_only_without_capabilities_or_new_privileges": fails(
        r"(?i)exited with code 1;.*read-only file system"
    ),
    "test_runs_as_an_arbitrary_uid_in_group_0_and_writes_data": fails(
        r"exited with code \d+;.*(not write-able|Permission)"
    ),
    "test_has_no_setuid_or_setgid_files": fails(r"setuid/setgid: \[.*bin/su"),
    "test_sigterm_during_writes_exits_0_within_2_seconds_and_keeps_every_201": fails(KILLED),
    "test_has_no_package_caches": fails(r"caches \['(root/\.cache|var/lib/apt/lists)/"),
    "test_has_no_build_tools": fails(r"tools \[.*bin/poetry"),
    "test_compiles_nothing_at_run_time_even_where_it_could_write": fails(r"[1-9]\d* .pyc written"),
    "test_carries_the_metadata_registries_and_scanners_expect[oci-labels]": fails(
        r"missing labels \['title'"
    ),
    "test_carries_the_metadata_registries_and_scanners_expect[healthcheck]": fails(
        r"healthcheck None"
    ),
    "test_image_holds_exactly_the_packages_of_the_sbom": fails(r"image only \[.*'pytest'"),
    "test_an_unwritable_data_folder_fails_fast_with_one_line": fails(
        r"started, and stored a write in the 0755 root folder"
    ),
    # test_health_probe.py
    "test_healthcheck_ignores_a_proxy_in_the_environment": fails(NO_HEALTHCHECK),
    "test_healthcheck_follows_the_configured_host_and_port": fails(NO_HEALTHCHECK),
    "test_a_health_probe_costs_at_most_50_ms_of_cpu": fails(NO_HEALTHCHECK),
    "test_stays_healthy_under_a_5_percent_cpu_limit": fails(NO_HEALTHCHECK),
    # test_runtime.py
    "test_runs_as_a_non_root_numeric_uid": fails(r"uids of its processes: \[0\]"),
    "test_app_user_cannot_write_its_code_or_venv_but_can_write_data": fails(r"writable: code True"),
    "test_healthcheck_reports_healthy": fails(r"health status: None \(no HEALTHCHECK\)"),
    "test_docker_stop_is_graceful_within_2_seconds[sigterm]": fails(KILLED),
    # Under an init, the shell of its shell-form CMD is not PID 1: SIGTERM kills it (128 + 15)
    # before the SIGKILL at 3 s, the service's own shutdown never runs (1.4 s on a busy machine).
    "test_docker_stop_is_graceful_within_2_seconds[sigterm-under-init]": fails(
        r"exit code 143 after [0-2]\.\d s"
    ),
    "test_docker_stop_is_graceful_within_2_seconds[sigint-under-init]": fails(KILLED),
    "test_labels_carry_the_build_metadata": fails(r"OCI labels \{\}"),
    # Its shell-form CMD sets the IPv4 wildcard, 0.0.0.0.
    "test_serves_ipv6_and_ipv4_by_default": fails(r"health None; IPv6 .*refused"),
    # test_secrets.py
    "test_canary_secret_appears_nowhere_in_the_image": fails(r"found in: \['"),
    "test_source_label_names_the_remote_without_its_credentials": fails(r"source label None"),
    # test_size.py
    "test_image_is_at_most_its_python_base_plus_the_venv_budget": fails(r"MB over .* plus"),
    "test_image_is_at_most_its_size_cap": fails(r"MB, over its cap of"),
}

SAME_APP = "the same application runs in it: the service's property, not the image's"
SAME_HERE: dict[str, str] = {
    # reproducible/test_reproducible.py (nox -s reproducible): it failed this check while it
    # ran, but its two builds of 1.3 GB without cache took 234 s of each CI run.
    "test_two_builds_without_cache_give_the_same_filesystem": (
        "two builds of 1.3 GB without cache (234 s); negative control: "
        "test_reproducible_fails_an_image_that_writes_its_build_time"
    ),
    "test_every_stdlib_module_the_service_imports_loads": SAME_APP,
    "test_venv_interpreter_resolves_in_the_image": "poetry's venv resolves too",
    "test_every_extension_module_finds_its_shared_libraries": (
        "the full Debian image holds every library; negative control: "
        "test_every_extension_module_finds_its_shared_libraries_fails_one_without_libbz2"
    ),
    "test_has_no_world_writable_file_outside_tmp_and_data": (
        "its files come from apt, COPY and poetry with a 022 umask; negative control: "
        "test_world_writable_flags_a_mode_666_file_and_nothing_writable_by_design"
    ),
    "test_layers_waste_nothing": (
        "its apt layers rewrite nothing on a base with the official apt configuration; negative "
        "control: test_layers_waste_nothing_fails_an_image_that_writes_a_file_twice"
    ),
    "test_carries_the_metadata_registries_and_scanners_expect[exposed-port]": "it EXPOSEs 8000",
    "test_carries_the_metadata_registries_and_scanners_expect[stop-signal]": "default SIGTERM",
    "test_an_invalid_setting_fails_fast_with_one_line": SAME_APP,
    "test_serves_health_and_round_trips_through_the_published_port": SAME_APP,
    "test_image_runs_the_code_of_this_checkout": "`COPY . .` copies it",
    "test_listens_on_its_exposed_port_and_no_other": SAME_APP,
    "test_starts_and_serves_where_ipv6_is_disabled": (
        "it listens on IPv4 alone, and has no probe to ask ::1; observed failing on the images "
        "whose probe asked ::1 for the wildcard ::"
    ),
    "test_refuses_oversized_request_heads_and_serves_on_through_a_flood": (
        f"{SAME_APP}; negative control: "
        "test_refuses_oversized_request_heads_fails_with_the_servers_bound_turned_off"
    ),
    # clients/test_waiting_clients.py (nox -s clients): its server is the service's.
    "test_keeps_an_idle_connection_longer_than_a_load_balancer": (
        f"{SAME_APP}; negative control: test_each_waiting_check_fails_with_its_guard_turned_off"
    ),
    "test_drops_a_body_sent_a_byte_at_a_time_and_serves_on": (
        f"{SAME_APP}; negative control: test_each_waiting_check_fails_with_its_guard_turned_off"
    ),
    "test_serves_writes_behind_nginx_over_its_upstream_keepalive_pool": (
        f"{SAME_APP}; negative control: test_each_waiting_check_fails_with_its_guard_turned_off"
    ),
    "test_every_log_line_fits_one_docker_log_message": (
        f"{SAME_APP}; negative control: "
        "test_every_log_line_fits_one_docker_log_message_fails_a_server_logging_whole_lines"
    ),
}

# hadolint (nox -s lint): an untagged base (DL3006) or `latest` (DL3007), and apt without
# --no-install-recommends (DL3015). hadolint sees the first only in a literal FROM.
HADOLINT = (("DL3006", "DL3007"), ("DL3015",))
# checkov: no HEALTHCHECK (2), no USER (3), an untagged base (7).
CHECKOV = {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7"}
# BuildKit's build checks (nox -s build, where buildx is 0.15+), one entry a finding: the
# database password as ARG and as ENV (SecretsUsedInArgOrEnv, twice), a shell-form CMD, whose
# PID 1 is the shell (JSONArgsRecommended).
BUILD_CHECKS = ("SecretsUsedInArgOrEnv", "SecretsUsedInArgOrEnv", "JSONArgsRecommended")
