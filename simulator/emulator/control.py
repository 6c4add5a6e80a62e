"""/_emulator/ endpoints: drive the emulator from another process.

Development and test only: no authentication. JSON in, JSON out.
"""
from __future__ import annotations

from flask import request

from .app import json_response


def _body() -> dict:
    body = request.get_json(force=True, silent=True)
    if body is None and request.get_data():
        raise ValueError("the body must be JSON")
    if body is not None and not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body or {}


def register(app):
    state = app.state

    def route(rule, methods):
        def wrap(func):
            def view(**params):
                try:
                    return func(**params)
                except (ValueError, TypeError) as exc:
                    return json_response(400, {"message": str(exc)})
                except KeyError as exc:
                    return json_response(404, {"message": f"unknown user {exc.args[0]}"})
            app.add_url_rule(rule, endpoint="_emulator." + func.__name__,
                             view_func=view, methods=methods)
            return func
        return wrap

    @route("/_emulator/users", ["GET"])
    def list_users():
        return json_response(200, {"users": state.users()})

    @route("/_emulator/users", ["POST"])
    def add_user():
        body = _body()
        profile = state.add_user(body.get("userId"),
                                 display_name=body.get("displayName", "テストユーザー"),
                                 picture_url=body.get("pictureUrl"),
                                 language=body.get("language", "ja"))
        return json_response(200, profile)

    @route("/_emulator/users/<user_id>/block", ["POST"])
    def block(user_id):
        state.set_blocked(user_id, True)
        return json_response(200, {})

    @route("/_emulator/users/<user_id>/unblock", ["POST"])
    def unblock(user_id):
        state.set_blocked(user_id, False)
        return json_response(200, {})

    @route("/_emulator/reply-tokens", ["POST"])
    def reply_token():
        return json_response(200, {"replyToken": state.issue_reply_token(_body().get("userId"))})

    @route("/_emulator/records", ["GET"])
    def records():
        return json_response(200, {"records": state.records(
            user_id=request.args.get("userId"), endpoint=request.args.get("endpoint"))})

    @route("/_emulator/messages/<user_id>", ["GET"])
    def messages(user_id):
        return json_response(200, {"messages": state.messages_for(user_id)})

    @route("/_emulator/rejected", ["GET"])
    def rejected():
        return json_response(200, {"rejected": state.rejected(
            endpoint=request.args.get("endpoint"))})

    @route("/_emulator/faults", ["GET"])
    def faults():
        return json_response(200, {"faults": state.faults()})

    @route("/_emulator/faults", ["POST"])
    def inject():
        return json_response(200, state.inject(_body()).to_dict())

    @route("/_emulator/faults", ["DELETE"])
    def clear_faults():
        state.clear_faults()
        return json_response(200, {})

    @route("/_emulator/reset", ["POST"])
    def reset():
        state.reset()
        return json_response(200, {})

    @route("/_emulator/quota", ["GET"])
    def quota():
        return json_response(200, {"limit": state.quota(), "consumption": state.consumption()})

    @route("/_emulator/quota", ["POST"])
    def set_quota():
        body = _body()
        if "limit" not in body:
            raise ValueError("give {\"limit\": N} or {\"limit\": null}")
        state.set_quota(body["limit"])
        return json_response(200, {"limit": state.quota(), "consumption": state.consumption()})
