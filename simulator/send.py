"""Plays LINE against a running bot: `python -m simulator.send follow` (or `text 使い方`, `postback DATA`).

It registers the user at the bot's emulator, takes a reply token there, signs the event with the demo
channel secret, posts it to /callback and prints what the user received. For demo mode (`make run`).
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from bot.config import EMULATOR_MOUNT, demo_channel_secret
from simulator import webhook_events as ev


def _call(url: str, body: bytes | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers or {"Content-Type": "application/json"},
                                     method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
    return json.loads(data) if data.strip().startswith(b"{") else {}


def _summary(message: dict) -> str:
    return message.get("text") or f"[{message['type']}] {message.get('altText', '')}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the bot's base URL")
    parser.add_argument("--user", default="U" + "0123456789abcdef" * 2, help="the LINE user id to act as")
    parser.add_argument("--name", default="デモ 利用者", help="display name of a new user")
    parser.add_argument("kind", choices=["follow", "unfollow", "text", "postback"])
    parser.add_argument("value", nargs="?", default="", help="the text or postback data")
    args = parser.parse_args(argv)
    emulator = args.url.rstrip("/") + EMULATOR_MOUNT
    try:
        before = len(_call(f"{emulator}/_emulator/messages/{args.user}")["messages"]) \
            if args.kind != "follow" else 0
        if args.kind == "follow":
            _call(f"{emulator}/_emulator/users", json.dumps({"userId": args.user, "displayName": args.name}).encode())
        token = _call(f"{emulator}/_emulator/reply-tokens", json.dumps({"userId": args.user}).encode())["replyToken"]
        event = {
            "follow": lambda: ev.follow(args.user, token),
            "unfollow": lambda: ev.unfollow(args.user),
            "text": lambda: ev.text(args.user, token, args.value),
            "postback": lambda: ev.postback(args.user, token, args.value),
        }[args.kind]()
        body = ev.payload(event)
        _call(args.url.rstrip("/") + "/callback", body, {
            "Content-Type": "application/json", "X-Line-Signature": ev.sign(demo_channel_secret(), body)})
        received = _call(f"{emulator}/_emulator/messages/{args.user}")["messages"][before:]
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        print(f"error: could not talk to the bot at {args.url}: {exc}", file=sys.stderr)
        return 1
    for message in received:
        print(_summary(message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
