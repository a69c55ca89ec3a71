import re
from pathlib import Path

from shortlink.settings import ENV_PREFIX, Settings

README = Path(__file__).parents[2] / "README.md"


def settings_rows() -> dict[str, tuple[str, str]]:
    section = (
        README.read_text().split("<!-- settings:start -->")[1].split("<!-- settings:end -->")[0]
    )
    rows = re.findall(rf"^\| `({ENV_PREFIX}\w+)` \| ([^|]+) \| ([^|]+) \|$", section, re.MULTILINE)
    return {name: (default.strip(), meaning.strip()) for name, default, meaning in rows}


def test_readme_settings_table_lists_every_setting_with_its_default_and_meaning() -> None:
    rows = settings_rows()
    fields = Settings.model_fields
    assert set(rows) == {f"{ENV_PREFIX}{name.upper()}" for name in fields}
    for name, field in fields.items():
        default, meaning = rows[f"{ENV_PREFIX}{name.upper()}"]
        assert meaning == field.description
        expected = "unset" if field.default is None else f"`{field.default}`"
        assert default.startswith(expected), f"{name}: README says {default}, code {expected}"
