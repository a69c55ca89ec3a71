"""Exit 0 when the local service answers /healthz (the image's HEALTHCHECK)."""

import os
import sys
import urllib.request

PORT = os.environ.get(f"{__package__.upper()}_PORT", "8000")


def main() -> int:
    url = f"http://127.0.0.1:{PORT}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
