"""Client SDK of specserve user API 0.1.0, generated from its AsyncAPI document."""

from ._wire import WireError, decode, encode
from .client import ApiError, Client, ConnectionClosed, HttpApi, RequestTimeout
from .types import *  # noqa: F401,F403

__version__ = "0.1.0"