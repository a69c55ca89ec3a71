"""`nox -s rename`'s text rewrite, on the README's kinds of sections (no files written)."""

from tools.project import NAME, PACKAGE
from tools.rename import NOT_YET_MEASURED, replace

MEASURED = (
    "<!-- cold-builds:start -->\n"
    f"Measured by `nox -s cold_builds -- --record`.\n\n| `{NAME}:optimized` | 145.6 MB |\n"
    "<!-- cold-builds:end -->"
)
# Another name than the project's, whatever a rename made it.
NEW = f"{PACKAGE}_renamed"
GENERATED = f"<!-- settings:start -->\n| `{NAME.upper()}_PORT` | 8000 |\n<!-- settings:end -->"


def test_measured_figures_keep_the_old_name_and_are_marked_not_yet_measured_under_the_new() -> None:
    renamed = replace(f"# {NAME}\n\n{MEASURED}\n", NEW)
    assert renamed.startswith(f"# {NEW}\n")
    assert NOT_YET_MEASURED.format(new=NEW, old=NAME) in renamed
    assert f"`{NAME}:optimized` | 145.6 MB" in renamed
    assert f"{NEW}:optimized" not in renamed


def test_a_second_rename_keeps_one_note_and_a_generated_section_follows_the_name() -> None:
    twice = replace(replace(MEASURED, NEW), NEW)
    assert twice.count("Not yet measured") == 1
    assert replace(GENERATED, NEW) == GENERATED.replace(NAME.upper(), NEW.upper())


def test_a_file_of_measured_results_keeps_its_figures_under_the_old_name() -> None:
    result = f"Measured by `nox -s startup -- --record`.\n\n| `{NAME}:optimized` | 0.57 s |\n"
    renamed = replace(result, NEW, measured_file=True)
    assert renamed == f"{NOT_YET_MEASURED.format(new=NEW, old=NAME)}\n\n{result}"
    assert replace(renamed, NEW, measured_file=True) == renamed


def test_kubernetes_names_take_the_new_name_as_a_dns_label() -> None:
    template = f"  name: {NAME}-data\n# {NAME.upper()}_PORT=tcp://...\n"
    renamed = replace(template, "acme_links", dns=True)
    assert renamed == "  name: acme-links-data\n# ACME_LINKS_PORT=tcp://...\n"
