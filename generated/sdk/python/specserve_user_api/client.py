"""The client of specserve user API 0.1.0 over one WebSocket, generated from
its AsyncAPI document: do not edit.

Requests are pipelined and matched to their replies by correlation id; a
refusal raises `ApiError`. Pushed events reach the listeners given to `on`.
After an unexpected close the client reconnects with exponential backoff and
jitter: requests already sent fail with `ConnectionClosed` (they may have
run), requests made meanwhile wait for the new connection, and session
operations (a bind, a subscription) are replayed first; one that resumes
asks for the events missed since the newest received and hands them to the
listeners, in order and each once, before any that came meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from typing import Any, Callable, Optional, Union

import websockets

from ._wire import WireError, decode, encode
from .types import *  # noqa: F401,F403 (the annotations below name them)

OPERATIONS: dict[str, Any] = {
    "authRegister": {
        "operation": "authRegister",
        "secured": False,
        "leading": [
            [
                "channel",
                "const",
                "auth/register",
            ],
            [
                "requestId",
                "id",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/register",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "authGenerateToken": {
        "operation": "authGenerateToken",
        "secured": False,
        "leading": [
            [
                "channel",
                "const",
                "auth/generateToken",
            ],
            [
                "requestId",
                "id",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/generateToken",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "authRefresh": {
        "operation": "authRefresh",
        "secured": False,
        "leading": [
            [
                "channel",
                "const",
                "auth/refresh",
            ],
            [
                "requestId",
                "id",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/refresh",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "authVerifyEmail": {
        "operation": "authVerifyEmail",
        "secured": False,
        "leading": [
            [
                "channel",
                "const",
                "auth/verifyEmail",
            ],
            [
                "requestId",
                "id",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/verifyEmail",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "authResendVerification": {
        "operation": "authResendVerification",
        "secured": False,
        "leading": [
            [
                "channel",
                "const",
                "auth/resendVerification",
            ],
            [
                "requestId",
                "id",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/resendVerification",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "authLogout": {
        "operation": "authLogout",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "auth/logout",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/logout",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "userCreate": {
        "operation": "userCreate",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "user/create",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "user/create",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "userRead": {
        "operation": "userRead",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "user/read",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "channel",
                        "user/read",
                    ],
                ],
                "strip": [
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "userUpdate": {
        "operation": "userUpdate",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "user/update",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "user/update",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "userDelete": {
        "operation": "userDelete",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "user/delete",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "user/delete",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "userDirectory": {
        "operation": "userDirectory",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "user/directory",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "user/directory",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "authBind": {
        "operation": "authBind",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "auth/bind",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": True,
        "resume": {
            "since": "since",
            "missed": "missed",
            "events": [
                "messageNew",
            ],
            "position": "/message/id",
        },
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/bind",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "roomCreate": {
        "operation": "roomCreate",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/create",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/create",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "roomList": {
        "operation": "roomList",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/list",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/list",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "roomAddMember": {
        "operation": "roomAddMember",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/addMember",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/addMember",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "roomLeave": {
        "operation": "roomLeave",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/leave",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/leave",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "roomJoin": {
        "operation": "roomJoin",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/join",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/join",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "roomMembers": {
        "operation": "roomMembers",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/members",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/members",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "roomDiscover": {
        "operation": "roomDiscover",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "room/discover",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/discover",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "roomSay": {
        "operation": "roomSay",
        "secured": True,
        "leading": [],
        "wrap": None,
        "whole": False,
        "correlation": None,
        "enveloped": False,
        "reply": False,
        "session": False,
        "resume": None,
        "error": None,
        "replies": [],
    },
    "messageSend": {
        "operation": "messageSend",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "message/send",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/send",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "messageHistory": {
        "operation": "messageHistory",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "message/history",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/history",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "messageMarkRead": {
        "operation": "messageMarkRead",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "message/markRead",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/markRead",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "messageEdit": {
        "operation": "messageEdit",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "message/edit",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/edit",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "presenceList": {
        "operation": "presenceList",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "presence/list",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "presence/list",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "presenceOnline": {
        "operation": "presenceOnline",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "presence/online",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "presence/online",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "announcementPost": {
        "operation": "announcementPost",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "announcement/post",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "announcement/post",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "announcementHistory": {
        "operation": "announcementHistory",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "announcement/history",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "announcement/history",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "tokenList": {
        "operation": "tokenList",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "token/list",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "token/list",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "tokenRevoke": {
        "operation": "tokenRevoke",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "token/revoke",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "token/revoke",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "tokenCreateClient": {
        "operation": "tokenCreateClient",
        "secured": True,
        "leading": [
            [
                "channel",
                "const",
                "token/createClient",
            ],
            [
                "requestId",
                "id",
            ],
            [
                "apiToken",
                "credential",
            ],
        ],
        "wrap": "payload",
        "whole": False,
        "correlation": {
            "part": "payload",
            "name": "requestId",
            "numeric": False,
        },
        "enveloped": False,
        "reply": True,
        "session": False,
        "resume": None,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "token/createClient",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
}
"""Every operation the client calls: its wire layout."""

EVENTS: dict[str, Any] = {
    "roomNewMessage": {
        "consts": [
            [
                "type",
                "NEW_MESSAGE",
            ],
        ],
        "strip": [
            "type",
        ],
        "unit": False,
    },
    "messageNew": {
        "consts": [
            [
                "channel",
                "message/new",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "messageEdited": {
        "consts": [
            [
                "channel",
                "message/edited",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "messageDelivered": {
        "consts": [
            [
                "channel",
                "message/delivered",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "roomRead": {
        "consts": [
            [
                "channel",
                "room/read",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "presenceChanged": {
        "consts": [
            [
                "channel",
                "presence/changed",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "roomMemberChanged": {
        "consts": [
            [
                "channel",
                "room/memberChanged",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "sessionWelcome": {
        "consts": [
            [
                "channel",
                "session/welcome",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
    "announcementNew": {
        "consts": [
            [
                "channel",
                "announcement/new",
            ],
        ],
        "strip": [
            "channel",
        ],
        "unit": False,
    },
}
"""Every event the server pushes: how it is recognized."""

HTTP_OPERATIONS: dict[str, Any] = {
    "httpAuthRegister": {
        "method": "POST",
        "path": "/api/auth/register",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/register",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpAuthGenerateToken": {
        "method": "POST",
        "path": "/api/auth/token",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/generateToken",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpAuthVerifyEmail": {
        "method": "POST",
        "path": "/api/auth/verify",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "auth/verifyEmail",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpRoomList": {
        "method": "GET",
        "path": "/api/rooms",
        "body": False,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/list",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpRoomCreate": {
        "method": "POST",
        "path": "/api/rooms",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/create",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpMessageHistory": {
        "method": "GET",
        "path": "/api/rooms/{roomId}/messages",
        "body": False,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/history",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpMessageSend": {
        "method": "POST",
        "path": "/api/rooms/{roomId}/messages",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "message/send",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
    "httpRoomJoin": {
        "method": "POST",
        "path": "/api/rooms/{roomId}/join",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/join",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "httpRoomAddMember": {
        "method": "POST",
        "path": "/api/rooms/{roomId}/members",
        "body": True,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "room/addMember",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": True,
            },
        ],
    },
    "httpUserDirectory": {
        "method": "GET",
        "path": "/api/users",
        "body": False,
        "error": {
            "consts": [
                [
                    "success",
                    False,
                ],
            ],
            "under": "error",
        },
        "replies": [
            {
                "consts": [
                    [
                        "success",
                        True,
                    ],
                    [
                        "channel",
                        "user/directory",
                    ],
                ],
                "strip": [
                    "success",
                    "channel",
                    "requestId",
                ],
                "unit": False,
            },
        ],
    },
}
"""Every operation also served over HTTP (its `http` binding): method, path, replies."""

CORRELATIONS: list[Any] = [
    [
        "payload",
        "/requestId",
    ],
]
ENVELOPED = False
RESUMES = [spec["resume"] for spec in OPERATIONS.values() if spec["resume"] is not None]
RECENT_POSITIONS = 1000

EVENT_TYPES: dict[str, Any] = {
    "roomNewMessage": "RoomNewMessage",
    "messageNew": "MessageNew",
    "messageEdited": "MessageEdited",
    "messageDelivered": "MessageDelivered",
    "roomRead": "RoomRead",
    "presenceChanged": "PresenceChanged",
    "roomMemberChanged": "RoomMemberChanged",
    "sessionWelcome": "SessionWelcome",
    "announcementNew": "AnnouncementNew",
}


class ApiError(Exception):
    """The server answered with an error reply."""

    def __init__(self, operation: str, correlation_id: Any, body: dict[str, Any]):
        super().__init__(f"{operation}: {body.get('code')}: {body.get('message')}")
        self.operation = operation
        self.correlation_id = correlation_id
        self.code: str = body.get("code", "")
        self.details: list[dict[str, Any]] = body.get("details") or []
        self.body = body


class ConnectionClosed(ConnectionError):
    """The connection closed (or could not open) before the reply arrived."""

    def __init__(self, message: str, close_code: Optional[int] = None):
        super().__init__(message)
        self.close_code = close_code


class RequestTimeout(TimeoutError):
    """No reply arrived within the request's timeout."""


class _Pending:
    def __init__(self, operation: str, spec: dict[str, Any], correlation: Any, text: str, future: asyncio.Future):
        self.operation = operation
        self.spec = spec
        self.id = correlation
        self.text = text
        self.future = future


def _key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Client:
    """One WebSocket to the API. Use `await Client.connect(url, token=...)`."""

    def __init__(
        self,
        url: str,
        *,
        token: Optional[str] = None,
        ssl: Any = None,
        timeout: float = 10.0,
        reconnect: bool = True,
        retries: float = math.inf,
        min_delay: float = 0.25,
        max_delay: float = 10.0,
        on_state: Optional[Callable[[str], None]] = None,
        on_resync: Optional[Callable[[], None]] = None,
        on_session_error: Optional[Callable[[str, Exception], None]] = None,
        on_unmatched: Optional[Callable[[Any], None]] = None,
    ):
        self.url = url
        self.token = token
        self.ssl = ssl
        self.timeout = timeout
        self.reconnect = reconnect
        self.retries = retries
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.on_state = on_state
        self.on_resync = on_resync
        self.on_session_error = on_session_error
        self.on_unmatched = on_unmatched
        self._ids = itertools.count(1)
        self._socket: Any = None
        self._in_flight: dict[str, _Pending] = {}
        self._in_order: list[_Pending] = []
        self._queued: list[_Pending] = []
        self._sessions: dict[str, tuple[Any, Optional[str]]] = {}
        self._listeners: dict[str, list[Callable[[Any], Any]]] = {}
        self._newest: Any = None
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._held: Optional[list[tuple[str, Any, Any]]] = None
        self._closed = False
        self._opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run())
        self.auth = AuthOperations(self)
        self.user = UserOperations(self)
        self.room = RoomOperations(self)
        self.message = MessageOperations(self)
        self.presence = PresenceOperations(self)
        self.announcement = AnnouncementOperations(self)
        self.token_api = TokenApiOperations(self)

    @classmethod
    async def connect(cls, url: str, **options: Any) -> "Client":
        """A client whose first connection is open."""
        client = cls(url, **options)
        try:
            await client._opened
        except BaseException:
            await client.close()
            raise
        return client

    async def request(self, operation: str, payload: Any = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        """Calls any operation by its key; the reply as JSON (the typed methods decode it)."""
        spec = OPERATIONS.get(operation)
        if spec is None:
            raise ValueError(f"no operation {operation}")
        if self._closed:
            raise ConnectionClosed("the client was closed")
        body = {} if payload is None else encode(payload)
        n = next(self._ids)
        correlation = None if spec["correlation"] is None else (n if spec["correlation"]["numeric"] else str(n))
        text = _encode(spec, body, correlation, token or self.token)
        pending = _Pending(spec["operation"], spec, correlation, text, asyncio.get_running_loop().create_future())
        if self._socket is not None:
            await self._transmit(pending)
        else:
            self._queued.append(pending)
        limit = self.timeout if timeout is None else timeout
        try:
            reply = await asyncio.wait_for(asyncio.shield(pending.future), limit)
        except asyncio.TimeoutError:
            self._forget(pending)
            raise RequestTimeout(f"{operation}: no reply within {limit} s") from None
        if spec["session"]:
            self._sessions[spec["operation"]] = (body, token)
        return reply

    def on(self, event: str, listener: Callable[[Any], Any]) -> Callable[[], None]:
        """Calls `listener` with every pushed `event`, typed; returns what stops it."""
        if event not in EVENTS:
            raise ValueError(f"no event {event}")
        self._listeners.setdefault(event, []).append(listener)
        return lambda: self._listeners[event].remove(listener)

    async def close(self) -> None:
        """Closes for good; what is outstanding fails with `ConnectionClosed`."""
        self._closed = True
        self._fail_all(ConnectionClosed("the client was closed"), True)
        if self._socket is not None:
            await self._socket.close()
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):
            pass
        self._state("closed")

    def _state(self, state: str) -> None:
        if self.on_state is not None:
            self.on_state(state)

    def _forget(self, pending: _Pending) -> None:
        if pending.id is not None:
            self._in_flight.pop(_key(pending.id), None)
        for waiting in (self._in_order, self._queued):
            if pending in waiting:
                waiting.remove(pending)

    async def _run(self) -> None:
        attempt = 0
        while not self._closed:
            self._state("connecting" if attempt == 0 else "reconnecting")
            why = "closed"
            code = None
            try:
                async with websockets.connect(self.url, ssl=self.ssl, max_size=None) as socket:
                    self._socket = socket
                    attempt = 0
                    self._state("open")
                    await self._replay_sessions()
                    waiting, self._queued = self._queued, []
                    for pending in waiting:
                        await self._transmit(pending)
                    if not self._opened.done():
                        self._opened.set_result(None)
                    async for data in socket:
                        self._receive(data)
                    code = socket.close_code
                    why = f"{code}"
            except (OSError, websockets.exceptions.WebSocketException) as error:
                why = str(error) or type(error).__name__
                code = getattr(getattr(error, "rcvd", None), "code", None)
            self._socket = None
            # A request already sent may or may not have run: fail it rather than resend it.
            self._fail_all(ConnectionClosed(f"connection closed ({why})", code), False)
            if not self._opened.done():
                self._opened.set_exception(ConnectionClosed(f"cannot connect to {self.url} ({why})", code))
                return
            if self._closed or not self.reconnect or attempt >= self.retries:
                self._fail_all(ConnectionClosed("connection lost and not reconnecting"), True)
                self._state("closed")
                return
            # Exponential backoff with jitter, so a restarted server is not hit by every client at once.
            ceiling = min(self.max_delay, self.min_delay * 2**attempt)
            attempt += 1
            self._state("reconnecting")
            await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)

    async def _transmit(self, pending: _Pending) -> None:
        if not pending.spec["reply"]:
            await self._socket.send(pending.text)
            if not pending.future.done():
                pending.future.set_result(None)
            return
        if pending.id is not None:
            self._in_flight[_key(pending.id)] = pending
        else:
            self._in_order.append(pending)
        try:
            await self._socket.send(pending.text)
        except websockets.exceptions.ConnectionClosed:
            pass  # the run loop fails it with the close

    async def _replay_sessions(self) -> None:
        for operation, (payload, token) in list(self._sessions.items()):
            spec = OPERATIONS[operation]
            resume = spec["resume"]
            since = None if resume is None else self._newest
            if since is not None and isinstance(payload, dict):
                payload = {**payload, resume["since"]: since}
                self._held = self._held if self._held is not None else []
            n = next(self._ids)
            correlation = None if spec["correlation"] is None else (n if spec["correlation"]["numeric"] else str(n))
            future = asyncio.get_running_loop().create_future()
            pending = _Pending(operation, spec, correlation, _encode(spec, payload, correlation, token or self.token), future)

            def done(future: asyncio.Future, operation: str = operation, resume: Any = resume, since: Any = since) -> None:
                error = future.exception()
                if since is not None and resume is not None:
                    self._resumed(resume, None if error is not None else future.result())
                if error is None or isinstance(error, ConnectionClosed):
                    return
                if isinstance(error, ApiError):
                    self._sessions.pop(operation, None)
                if self.on_session_error is not None:
                    self.on_session_error(operation, error)

            future.add_done_callback(done)
            await self._transmit(pending)

    def _receive(self, data: Any) -> None:
        try:
            frame = json.loads(data)
        except (TypeError, ValueError):
            self._unmatched(data)
            return
        correlation = _correlation_of(frame)
        body = frame["payload"] if ENVELOPED and isinstance(frame, dict) and "payload" in frame else frame
        pending = None if correlation is None else self._in_flight.pop(correlation, None)
        if pending is None and correlation is None and self._in_order and _event_of(body) is None:
            pending = self._in_order.pop(0)
        if pending is None:
            event = _event_of(body)
            if event is None:
                self._unmatched(frame)
            else:
                name, spec = event
                self._deliver(name, None if spec["unit"] else _strip(body, spec["strip"]), frame)
            return
        if not pending.future.done():
            _settle(pending, body)

    def _deliver(self, name: str, value: Any, frame: Any) -> None:
        if self._held is not None:
            self._held.append((name, value, frame))
            return
        if not self._first_sighting(name, value):
            return
        listeners = self._listeners.get(name) or []
        if not listeners:
            self._unmatched(frame)
            return
        try:
            typed = decode(EVENT_TYPES[name], value)
        except WireError:
            self._unmatched(frame)
            return
        for listener in list(listeners):
            listener(typed)

    def _first_sighting(self, name: str, value: Any) -> bool:
        resume = next((r for r in RESUMES if name in r["events"]), None)
        position = None if resume is None else _at(value, resume["position"])
        if position is None:
            return True
        key = _key([name, position])
        if key in self._recent:
            return False
        self._recent[key] = None
        if len(self._recent) > RECENT_POSITIONS:
            self._recent.popitem(last=False)
        newest = self._newest
        if newest is None or not isinstance(position, int) or not isinstance(newest, int) or position > newest:
            self._newest = position
        return True

    def _resumed(self, resume: dict[str, Any], reply: Any) -> None:
        held = self._held or []
        self._held = None
        missed = reply.get(resume["missed"]) if isinstance(reply, dict) else None
        if resume["events"] and isinstance(missed, list):
            for value in missed:
                self._deliver(resume["events"][0], value, value)
        if isinstance(reply, dict) and reply.get("resync") is True and self.on_resync is not None:
            self.on_resync()
        for name, value, frame in held:
            self._deliver(name, value, frame)

    def _fail_all(self, error: Exception, include_queued: bool) -> None:
        failed = list(self._in_flight.values()) + self._in_order + (self._queued if include_queued else [])
        self._in_flight.clear()
        self._in_order = []
        if include_queued:
            self._queued = []
        for pending in failed:
            if not pending.future.done():
                pending.future.set_exception(error)

    def _unmatched(self, frame: Any) -> None:
        if self.on_unmatched is not None:
            self.on_unmatched(frame)


class HttpApi:
    """The operations the spec also serves over HTTP (their `http` bindings),
    one request each, typed as over the WebSocket. `url` is the server's
    `https://` origin or its WebSocket URL; `ssl` an `ssl.SSLContext`, as for
    `Client`. A refusal raises `ApiError`, a request that got no answer
    `ConnectionClosed` (or `RequestTimeout`)."""

    def __init__(self, url: str, *, token: Optional[str] = None, ssl: Any = None, timeout: float = 10.0):
        parts = urllib.parse.urlsplit(url)
        scheme = "http" if parts.scheme in ("ws", "http") else "https"
        self.origin = f"{scheme}://{parts.netloc}"
        self.token = token
        self.ssl = ssl
        self.timeout = timeout

    async def request(self, operation: str, payload: Any = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        """Calls any HTTP operation by its key; the reply as JSON (the typed methods decode it).

        The path's parameters come out of the payload; the rest is the JSON
        body, or the query of a GET or DELETE."""
        spec = HTTP_OPERATIONS.get(operation)
        if spec is None:
            raise ValueError(f"no HTTP operation {operation}")
        rest = {} if payload is None else dict(encode(payload))

        def parameter(match: re.Match) -> str:
            return urllib.parse.quote(str(rest.pop(match.group(1), "")), safe="")

        target = self.origin + re.sub(r"\{([^}]+)\}", parameter, spec["path"])
        headers = {"accept": "application/json"}
        credential = token or self.token
        if credential is not None:
            headers["authorization"] = f"Bearer {credential}"
        data = None
        if spec["body"]:
            headers["content-type"] = "application/json"
            data = json.dumps(rest).encode()
        else:
            query = {name: value if isinstance(value, str) else json.dumps(value) for name, value in rest.items() if value is not None}
            if query:
                target += "?" + urllib.parse.urlencode(query)
        limit = self.timeout if timeout is None else timeout
        status, text = await asyncio.to_thread(self._send, spec["method"], target, data, headers, limit, operation)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        refusal = _refusal(spec, answer)
        if refusal is None and not 200 <= status < 300:
            refusal = {"code": "internal", "message": f"HTTP {status}"}
        if refusal is not None:
            raise ApiError(operation, None, refusal)
        return _success(spec, answer)

    def _send(self, method: str, target: str, data: Optional[bytes], headers: dict[str, str], limit: float, operation: str) -> tuple[int, bytes]:
        request = urllib.request.Request(target, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=limit, context=self.ssl) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read()
        except TimeoutError:
            raise RequestTimeout(f"{operation}: no answer within {limit} s") from None
        except (urllib.error.URLError, OSError) as failed:
            raise ConnectionClosed(f"{operation}: {failed}") from failed

    async def http_auth_register(self, payload: AuthRegisterPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthRegisterReply:
        """auth/register over HTTP: `POST /api/auth/register` with its payload. (`httpAuthRegister`)"""
        raw = await self.request("httpAuthRegister", payload, token=token, timeout=timeout)
        return _reply(["AuthRegisterReply"], raw)

    async def http_auth_generate_token(self, payload: AuthGenerateTokenPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthGenerateTokenReply:
        """auth/generateToken over HTTP: `POST /api/auth/token` with its payload. (`httpAuthGenerateToken`)"""
        raw = await self.request("httpAuthGenerateToken", payload, token=token, timeout=timeout)
        return _reply(["AuthGenerateTokenReply"], raw)

    async def http_auth_verify_email(self, payload: AuthVerifyEmailPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthVerifyEmailReply:
        """auth/verifyEmail over HTTP: `POST /api/auth/verify` with its payload. (`httpAuthVerifyEmail`)"""
        raw = await self.request("httpAuthVerifyEmail", payload, token=token, timeout=timeout)
        return _reply(["AuthVerifyEmailReply"], raw)

    async def http_room_list(self, payload: Optional[EmptyPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomListReply:
        """room/list over HTTP: `GET /api/rooms`. (`httpRoomList`)"""
        raw = await self.request("httpRoomList", payload, token=token, timeout=timeout)
        return _reply(["RoomListReply"], raw)

    async def http_room_create(self, payload: Optional[RoomCreatePayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomCreateReply:
        """room/create over HTTP: `POST /api/rooms` with its payload. (`httpRoomCreate`)"""
        raw = await self.request("httpRoomCreate", payload, token=token, timeout=timeout)
        return _reply(["RoomCreateReply"], raw)

    async def http_message_history(self, payload: MessageHistoryPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> MessageHistoryReply:
        """message/history over HTTP: `GET /api/rooms/{roomId}/messages?before=&limit=`. (`httpMessageHistory`)"""
        raw = await self.request("httpMessageHistory", payload, token=token, timeout=timeout)
        return _reply(["MessageHistoryReply"], raw)

    async def http_message_send(self, payload: MessageSendPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> MessageSendReply:
        """message/send over HTTP: `POST /api/rooms/{roomId}/messages` with `text` (and `clientMsgId`). (`httpMessageSend`)"""
        raw = await self.request("httpMessageSend", payload, token=token, timeout=timeout)
        return _reply(["MessageSendReply"], raw)

    async def http_room_join(self, payload: RoomRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """room/join over HTTP: `POST /api/rooms/{roomId}/join`. (`httpRoomJoin`)"""
        raw = await self.request("httpRoomJoin", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def http_room_add_member(self, payload: RoomMemberPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """room/addMember over HTTP: `POST /api/rooms/{roomId}/members` with `userId`. (`httpRoomAddMember`)"""
        raw = await self.request("httpRoomAddMember", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def http_user_directory(self, payload: Optional[DirectoryPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> UserDirectoryReply:
        """user/directory over HTTP: `GET /api/users?query=&after=&limit=`. (`httpUserDirectory`)"""
        raw = await self.request("httpUserDirectory", payload, token=token, timeout=timeout)
        return _reply(["UserDirectoryReply"], raw)


def _encode(spec: dict[str, Any], payload: Any, correlation: Any, token: Optional[str]) -> str:
    value = payload if spec["wrap"] is None else {spec["wrap"]: {} if payload is None else payload}
    message = value
    if not spec["whole"]:
        message = {}
        for entry in spec["leading"]:
            name, kind = entry[0], entry[1]
            if kind == "const":
                message[name] = entry[2]
            elif kind == "id" and correlation is not None:
                message[name] = correlation
            elif kind == "credential" and token is not None:
                message[name] = token
        if isinstance(value, dict):
            message.update(value)
    if spec["correlation"] is not None and spec["whole"] and isinstance(message, dict) and correlation is not None:
        message[spec["correlation"]["name"]] = correlation
    return json.dumps({"payload": message} if spec["enveloped"] else message)


def _settle(pending: _Pending, body: Any) -> None:
    refusal = _refusal(pending.spec, body)
    if refusal is not None:
        pending.future.set_exception(ApiError(pending.operation, pending.id, refusal))
        return
    pending.future.set_result(_success(pending.spec, body))


def _refusal(spec: dict[str, Any], body: Any) -> Optional[dict[str, Any]]:
    """The error body, when `body` is the operation's error reply."""
    error = spec["error"]
    under = "error" if error is None else error["under"]
    if error is not None and not _matches(body, error["consts"]):
        return None
    found = body.get(under) if isinstance(body, dict) else None
    return found if isinstance(found, dict) else None


def _success(spec: dict[str, Any], body: Any) -> Any:
    """A success reply as the typed methods decode it (`None` for a unit reply)."""
    replies = spec["replies"]
    reply = next((r for r in replies if _matches(body, r["consts"])), replies[0] if replies else None)
    return None if reply is None or reply["unit"] else _strip(body, reply["strip"])


def _event_of(body: Any) -> Optional[tuple[str, Any]]:
    for name, spec in EVENTS.items():
        if spec["consts"] and _matches(body, spec["consts"]):
            return name, spec
    loose = [(name, spec) for name, spec in EVENTS.items() if not spec["consts"]]
    return loose[0] if len(loose) == 1 else None


def _correlation_of(frame: Any) -> Optional[str]:
    for part, pointer in CORRELATIONS:
        source = frame.get(part) if ENVELOPED and isinstance(frame, dict) else (frame if part == "payload" else None)
        value = _at(source, pointer)
        if value is not None:
            return _key(value)
    return None


def _at(value: Any, pointer: str) -> Any:
    here = value
    for token in pointer.split("/")[1:]:
        if not isinstance(here, dict):
            return None
        here = here.get(token.replace("~1", "/").replace("~0", "~"))
    return here


def _matches(body: Any, consts: list[Any]) -> bool:
    return isinstance(body, dict) and all(_key(body.get(name)) == _key(value) for name, value in consts)


def _strip(body: Any, names: list[str]) -> Any:
    if not isinstance(body, dict):
        return body
    return {k: v for k, v in body.items() if k not in names}


def _reply(types: Optional[list[Any]], raw: Any) -> Any:
    if types is None:
        return None
    for index, tp in enumerate(types):
        try:
            return decode(tp, raw)
        except WireError:
            if index == len(types) - 1:
                raise
    return None


class AuthOperations:
    """The `auth` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def register(self, payload: AuthRegisterPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthRegisterReply:
        """Create an account with the role `user` and return its id. (`authRegister`)"""
        raw = await self._client.request("authRegister", payload, token=token, timeout=timeout)
        return _reply(["AuthRegisterReply"], raw)

    async def generate_token(self, payload: AuthGenerateTokenPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthGenerateTokenReply:
        """Exchange an email and password for a new API token. (`authGenerateToken`)"""
        raw = await self._client.request("authGenerateToken", payload, token=token, timeout=timeout)
        return _reply(["AuthGenerateTokenReply"], raw)

    async def refresh(self, payload: AuthRefreshPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthRefreshReply:
        """Exchange a refresh token for a new access token and a new refresh token. (`authRefresh`)"""
        raw = await self._client.request("authRefresh", payload, token=token, timeout=timeout)
        return _reply(["AuthRefreshReply"], raw)

    async def verify_email(self, payload: AuthVerifyEmailPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthVerifyEmailReply:
        """Prove the account's email with the code mailed to it; log-in works from then on. (`authVerifyEmail`)"""
        raw = await self._client.request("authVerifyEmail", payload, token=token, timeout=timeout)
        return _reply(["AuthVerifyEmailReply"], raw)

    async def resend_verification(self, payload: AuthResendVerificationPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Mail a new code to an unverified account; the old code stops working. (`authResendVerification`)"""
        raw = await self._client.request("authResendVerification", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def logout(self, payload: Optional[AuthLogoutPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Revoke the token this request was authenticated with. (`authLogout`)"""
        raw = await self._client.request("authLogout", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def bind(self, payload: Optional[AuthBindPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AuthBindReply:
        """Bind this connection to the caller, so the caller's events reach it. (`authBind`)"""
        raw = await self._client.request("authBind", payload, token=token, timeout=timeout)
        return _reply(["AuthBindReply"], raw)


class UserOperations:
    """The `user` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def create(self, payload: UserCreatePayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> UserCreateReply:
        """Create a user managed by the caller. (`userCreate`)"""
        raw = await self._client.request("userCreate", payload, token=token, timeout=timeout)
        return _reply(["UserCreateReply"], raw)

    async def read(self, payload: UserRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> UserReadReply:
        """Return one user. (`userRead`)"""
        raw = await self._client.request("userRead", payload, token=token, timeout=timeout)
        return _reply(["UserReadReply"], raw)

    async def update(self, payload: UserUpdatePayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Change a user's name, email, password or role; absent fields stay as they are. (`userUpdate`)"""
        raw = await self._client.request("userUpdate", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def delete(self, payload: UserRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Delete a user, revoke its tokens and close its connections. (`userDelete`)"""
        raw = await self._client.request("userDelete", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def directory(self, payload: Optional[DirectoryPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> UserDirectoryReply:
        """Users the caller may see whose name contains a text, by id, a page at a time. (`userDirectory`)"""
        raw = await self._client.request("userDirectory", payload, token=token, timeout=timeout)
        return _reply(["UserDirectoryReply"], raw)


class RoomOperations:
    """The `room` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def create(self, payload: Optional[RoomCreatePayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomCreateReply:
        """Open the direct room with another user, or create a group room. (`roomCreate`)"""
        raw = await self._client.request("roomCreate", payload, token=token, timeout=timeout)
        return _reply(["RoomCreateReply"], raw)

    async def list(self, payload: Optional[EmptyPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomListReply:
        """The caller's rooms, most recently active first, with the last message and the unread count. (`roomList`)"""
        raw = await self._client.request("roomList", payload, token=token, timeout=timeout)
        return _reply(["RoomListReply"], raw)

    async def add_member(self, payload: RoomMemberPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Add a user to a group room the caller owns. (`roomAddMember`)"""
        raw = await self._client.request("roomAddMember", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def leave(self, payload: RoomRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Leave a group room. (`roomLeave`)"""
        raw = await self._client.request("roomLeave", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def join(self, payload: RoomRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Join a public room, or accept an invitation to a private one. (`roomJoin`)"""
        raw = await self._client.request("roomJoin", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def members(self, payload: RoomRef, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomMembersReply:
        """A room's members, their role and whether they are online. (`roomMembers`)"""
        raw = await self._client.request("roomMembers", payload, token=token, timeout=timeout)
        return _reply(["RoomMembersReply"], raw)

    async def discover(self, payload: Optional[RoomDiscoverPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> RoomDiscoverReply:
        """Public rooms whose name contains a text, newest first, a page at a time. (`roomDiscover`)"""
        raw = await self._client.request("roomDiscover", payload, token=token, timeout=timeout)
        return _reply(["RoomDiscoverReply"], raw)

    async def say(self, payload: RoomSay, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Store a message in this socket's room and push it to the other members. (`roomSay`)"""
        raw = await self._client.request("roomSay", payload, token=token, timeout=timeout)
        return _reply(None, raw)


class MessageOperations:
    """The `message` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def send(self, payload: MessageSendPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> MessageSendReply:
        """Store a message in a room and push it to the room's members. (`messageSend`)"""
        raw = await self._client.request("messageSend", payload, token=token, timeout=timeout)
        return _reply(["MessageSendReply"], raw)

    async def history(self, payload: MessageHistoryPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> MessageHistoryReply:
        """A room's messages, newest first, a page at a time. (`messageHistory`)"""
        raw = await self._client.request("messageHistory", payload, token=token, timeout=timeout)
        return _reply(["MessageHistoryReply"], raw)

    async def mark_read(self, payload: MessageMarkReadPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Move the caller's last-read pointer in a room forward. (`messageMarkRead`)"""
        raw = await self._client.request("messageMarkRead", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def edit(self, payload: MessageEditPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> MessageEditReply:
        """Replace the text of a message the caller sent. (`messageEdit`)"""
        raw = await self._client.request("messageEdit", payload, token=token, timeout=timeout)
        return _reply(["MessageEditReply"], raw)


class PresenceOperations:
    """The `presence` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def list(self, payload: PresenceListPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> PresenceListReply:
        """Whether the users the caller may see are online. (`presenceList`)"""
        raw = await self._client.request("presenceList", payload, token=token, timeout=timeout)
        return _reply(["PresenceListReply"], raw)

    async def online(self, payload: Optional[EmptyPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> PresenceOnlineReply:
        """The users online now whom the caller may see. (`presenceOnline`)"""
        raw = await self._client.request("presenceOnline", payload, token=token, timeout=timeout)
        return _reply(["PresenceOnlineReply"], raw)


class AnnouncementOperations:
    """The `announcement` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def post(self, payload: AnnouncementPostPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AnnouncementPostReply:
        """Post a message to everyone; every signed-in connection hears it. (`announcementPost`)"""
        raw = await self._client.request("announcementPost", payload, token=token, timeout=timeout)
        return _reply(["AnnouncementPostReply"], raw)

    async def history(self, payload: Optional[AnnouncementHistoryPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> AnnouncementHistoryReply:
        """Announcements, newest first, a page at a time. (`announcementHistory`)"""
        raw = await self._client.request("announcementHistory", payload, token=token, timeout=timeout)
        return _reply(["AnnouncementHistoryReply"], raw)


class TokenApiOperations:
    """The `token_api` operations."""

    def __init__(self, client: Client):
        self._client = client

    async def list(self, payload: Optional[EmptyPayload] = None, *, token: Optional[str] = None, timeout: Optional[float] = None) -> TokenListReply:
        """The caller's live tokens, without their secrets. (`tokenList`)"""
        raw = await self._client.request("tokenList", payload, token=token, timeout=timeout)
        return _reply(["TokenListReply"], raw)

    async def revoke(self, payload: TokenRevokePayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> None:
        """Revoke one of the caller's tokens by id ("log out that device"). (`tokenRevoke`)"""
        raw = await self._client.request("tokenRevoke", payload, token=token, timeout=timeout)
        return _reply([None], raw)

    async def create_client(self, payload: TokenCreateClientPayload, *, token: Optional[str] = None, timeout: Optional[float] = None) -> TokenCreateClientReply:
        """An admin makes a token for a service, limited to the scopes it names. (`tokenCreateClient`)"""
        raw = await self._client.request("tokenCreateClient", payload, token=token, timeout=timeout)
        return _reply(["TokenCreateClientReply"], raw)