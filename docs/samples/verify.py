"""Verifies a reghook webhook with Python 3's standard library only.

Usage: python3 verify.py signed-webhook.json [now-unix-seconds]
"""
import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: dict, body: bytes, now: int) -> None:
    """Raises ValueError unless the raw body is signed with the secret and fresh."""
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # Any entry may match: during a secret rotation there is one signature per secret.
    entries = headers["webhook-signature"].split(" ")
    if not any(hmac.compare_digest(entry.encode(), expected.encode()) for entry in entries):
        raise ValueError("no webhook-signature matches")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValueError("webhook-timestamp is more than 5 minutes away from now")


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as file:
        sample = json.load(file)
    now = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
    try:
        # In a web handler: the request's raw body bytes, never re-serialized JSON.
        verify(sample["secret"], sample["headers"], sample["body"].encode("utf-8"), now)
    except ValueError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    print(f"verified {sample['headers']['webhook-id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
