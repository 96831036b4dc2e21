"""The supervisors' web dashboard: live calls from MQTT events, login, and call control."""

from __future__ import annotations

from voicebot.dashboard.auth import Authenticator, PasswordVerifier
from voicebot.dashboard.board import CallBoard, Subscription, Update
from voicebot.dashboard.server import (
    CONTROL_ACTIONS,
    SendControl,
    bound_port,
    create_app,
    start_dashboard,
)

__all__ = [
    "CONTROL_ACTIONS",
    "Authenticator",
    "CallBoard",
    "PasswordVerifier",
    "SendControl",
    "Subscription",
    "Update",
    "bound_port",
    "create_app",
    "start_dashboard",
]
