"""``GET /1/user/{ns}/profile`` (contract 1.8, 2.8).

Groove answered a request without a user token (an application token) with only
``IsSubscriptionAvailableForPurchase`` and ``Culture``. This server issues no application tokens, so it
cannot tell one from an unknown token: no ``Authorization`` and a bearer token it does not know both get
that partial answer (200). A revoked user token gets 401 INVALID_AUTHORIZATION_HEADER with
``WWW-Authenticate: Bearer error='token_expired'``, so clients refresh it instead of thinking the user
signed out, and an ``Authorization`` header that is not a bearer token gets the same 401.

This server sells no subscription: HasSubscription is false for a user, no Subscription is written, and
IsSubscriptionAvailableForPurchase (written in every answer, errors included) is false.
"""

from flask import request

from .. import auth, browse
from ..openapi import Example, documented
from . import doc_examples, web
from .routes import blueprint


def _caller_or_none():
    header = request.headers.get("Authorization")
    if header is None:
        return None
    token = auth.bearer_token(header)
    if token is None:
        return web.authenticate()  # not a bearer token: the 401 of every user endpoint
    try:
        return auth.authenticate(web.store(), token)
    except auth.AuthenticationFailure as failure:
        if failure.revoked:
            return web.authenticate()  # the 401 with the token_expired challenge
        return None


@blueprint.route("/1/user/<namespace>/profile", methods=["GET"], endpoint="user_profile")
@documented(
    "The caller's profile and collection state",
    description=__doc__.split("\n\n", 1)[1].strip(),
    security=["bearer", None],
    responses={
        200: "UserProfileResponse",
        401: {
            "INVALID_AUTHORIZATION_HEADER": "an `Authorization` header that is not a bearer token, or a revoked token",
        },
    },
    examples={
        200: [
            Example("user", doc_examples.PROFILE, "With a user token"),
            Example("no user", doc_examples.ANONYMOUS_PROFILE, "Without a token, or an unknown one (?country=FR)"),
        ]
    },
)
@web.groove_endpoint("UserProfileResponse")
def profile(namespace):
    web.require_music_namespace(namespace)
    caller = _caller_or_none()
    answer = {"IsSubscriptionAvailableForPurchase": False, "Culture": web.culture()}
    if caller is not None:
        config = web.settings()
        state = browse.profile(
            web.store(), caller,
            track_capacity=config["COLLECTION_CAPACITY"], playlist_capacity=config["PLAYLIST_CAPACITY"],
        )
        answer["HasSubscription"] = False
        answer["Collection"] = {
            "Token": state.token,
            "PlaylistCount": state.playlist_count or None,
            "RemainingPlaylistCount": state.remaining_playlist_count or None,
            "TrackCount": state.track_count or None,
            "RemainingTrackCount": state.remaining_track_count or None,
        }
    return web.render("UserProfileResponse", answer)
