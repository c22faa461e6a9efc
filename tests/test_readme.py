"""The README's API examples run as written (a reader copies them first)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(section: str) -> list[str]:
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)


def test_the_api_section_runs_as_written():
    blocks = _blocks("The API")
    assert blocks, "the API section has no python example"
    for code in blocks:
        exec(compile(code, "README.md (The API)", "exec"), {})
