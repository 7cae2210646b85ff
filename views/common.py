"""What every page shares: the runtime, the current workspace, how errors and sources look."""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable

import streamlit as st

from coach.errors import CoachError
from coach.present import safe_markdown as model_markdown  # noqa: F401  (pages import it from here)
from coach.runtime import Runtime
from coach.settings import Settings
from coach.store import Hit
from coach.workspace import Workspace


@st.cache_resource(show_spinner=False, on_release=Runtime.close)
def runtime() -> Runtime:
    """One runtime per server process: the model loads in the background while the page is usable.

    Released (Streamlit's "Clear cache", or a test's clear), it stops its model server: a new one
    starts with the next run, and the old one's memory (a gigabyte for the default model) is freed.
    """
    rt = Runtime(Settings())
    rt.start_model(background=True, warm=True)
    return rt


def workspace() -> Workspace:
    """The workspace this browser session is in (chosen in the sidebar, kept in the URL)."""
    return runtime().workspace(st.session_state.get("workspace"), user=current_user())


def current_user() -> str | None:
    """The signed-in user (COACH_AUTH=password), or None without accounts."""
    return st.session_state.get("username") if runtime().settings.auth == "password" else None


def wait_for_model(message: str = "The coach is still getting ready (first start only); it follows…") -> None:
    """If the local model is still loading or warming up, wait for it with a spinner."""
    rt = runtime()
    if rt.model_status()[0] in ("starting", "warming"):
        with st.spinner(message):
            rt.wait_until_ready()




SUBMITTED = "upward-submitted"  # a plain dict in the session: {key: (value, tries)}


class Submitted:
    """What a person submitted (a form, a chat line), kept in the session until the page has acted on it.

    A submit button's value lasts one run. A rerun from elsewhere (the sign-in cookie component reporting
    back after a page change, a second click) stops the run that carries it, and the submission would be
    gone with it. So the button's callback, which Streamlit calls before the page runs, keeps the values
    here; the page acts on them and lets go (`done`) as soon as the effect is stored, and a run stopped
    before that acts again in the next one. After `TRIES` stopped runs it gives up, and says so.

    Every read or write of st.session_state is itself a point where Streamlit may stop the run, in a
    callback too; so a callback reads the widgets once (`st.session_state.to_dict()`, which is not) and
    writes only into a plain dict kept in the session.
    """

    TRIES = 3

    def __init__(self, key: str):
        self.key = key
        self.box = st.session_state.to_dict().get(SUBMITTED)
        if self.box is None:  # the first in this session: made by a page run, before any callback needs it
            self.box = st.session_state[SUBMITTED] = {}

    def keep(self, value: object) -> None:
        self.box[self.key] = (value, 0)

    def on_submit(self, read: Callable[[dict], object]) -> Callable[[], None]:
        """A callback for on_click/on_submit that keeps read(widget values by key)."""
        return lambda: self.keep(read(st.session_state.to_dict()))

    def kept(self):
        """The value kept, or None; unlike `waiting`, this counts no try."""
        return self.box.get(self.key, (None, 0))[0]

    def waiting(self):
        """The value to act on in this run, or None; each call counts as one try."""
        if self.key not in self.box:
            return None
        value, tries = self.box[self.key]
        if tries >= self.TRIES:
            self.done()
            st.warning("What you sent last was interrupted several times and is not done: send it again.",
                       icon=":material/replay:")
            return None
        self.box[self.key] = (value, tries + 1)
        return value

    def first_try(self) -> bool:
        """Whether the value `waiting` just gave is being acted on for the first time."""
        return self.box.get(self.key, (None, 0))[1] == 1

    def done(self) -> None:
        self.box.pop(self.key, None)


def error_markdown(exc: CoachError) -> str:
    return f"**{exc.message}**\n\n{exc.hint}" if exc.hint else exc.message


def show_error(exc: CoachError) -> None:
    st.error(error_markdown(exc), icon=":material/error:")


def show_sources(hits: list[Hit]) -> None:
    if not hits:
        return
    st.caption(f"Sources ({len(hits)})")
    for n, hit in enumerate(hits, 1):
        icon = ":material/menu_book:" if hit.origin == "playbook" else ":material/sticky_note_2:"
        label = f"[{n}] {hit.title} · {hit.topic}" if hit.origin == "playbook" else f"[{n}] {hit.source} · your notes"
        with st.expander(label, icon=icon):
            if hit.origin == "note":
                st.text(hit.text)
            else:
                st.markdown(hit.text)
            st.caption(f"{hit.origin} · {hit.source} · similarity {hit.score:.2f}")


def show_scorecard(card: dict) -> None:
    """The debrief: outcome, the concerns revealed, four strategy scores with evidence, advice."""
    from coach.present import scorecard_markdown, strategy_name

    if "outcome" in card:
        {"agreed": st.success, "open": st.info, "refused": st.error}[card["outcome"]](
            f"Outcome: **{card['outcome']}**", icon=":material/flag:")
    columns = st.columns(4)
    for column, (key, s) in zip(columns, card["strategies"].items()):
        column.metric(strategy_name(key), f"{s['score']}/5")
    st.markdown(scorecard_markdown({**card, "outcome": None}))


def move_workspace(current: str) -> str:
    """Export this workspace as a zip, or import one into a new workspace; return the workspace to show."""
    from coach.transfer import export_zip, import_bundle, read_zip
    from coach.workspace import check_workspace

    rt = runtime()
    st.caption(f"Everything in **{current}**: notes, profile, chats and rehearsals, in one zip.")
    if st.button("Prepare the download", icon=":material/archive:", key="export-prepare"):
        st.session_state[f"export:{current}"] = export_zip(rt.workspace(current, user=current_user()))
    if data := st.session_state.get(f"export:{current}"):
        st.download_button("Download the zip", data, file_name=f"upward-{current}.zip", mime="application/zip",
                           icon=":material/download:", key="export-download")
    st.divider()
    upload = st.file_uploader("Import a zip into a new workspace", type=["zip"], key="import-file")
    name = st.text_input("New workspace name", key="import-name", placeholder="e.g. dana-2025")
    if st.button("Import", icon=":material/unarchive:", key="import-go") and upload is not None:
        try:
            target = check_workspace(name or "")
            bundle = read_zip(upload.getvalue())
            bar = st.progress(0.0, text="Importing…")
            done = import_bundle(bundle, rt.workspace(target, user=current_user()),
                                 lambda f, d: bar.progress(f, text=d))
            bar.empty()
        except CoachError as exc:
            show_error(exc)
        else:
            st.success(f"Imported {done['notes']} notes, {done['conversations']} chats and {done['rehearsals']} "
                       f"rehearsals into **{target}**.", icon=":material/check:")
            return target
    return current


LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}


def refuse_public_without_auth() -> None:
    """Stop, with a message naming the setting and the override, if the app would serve others unsigned."""
    settings = runtime().settings
    address = st.get_option("server.address") or "all interfaces"
    if settings.auth == "off" and address not in LOCAL_ADDRESSES and not settings.allow_public_without_auth:
        message = (f"Upward is serving on {address} with COACH_AUTH=off: anyone who can reach this address "
                   "could open every workspace and read the notes in it.")
        hint = ("Set COACH_AUTH=password and add users with `coach users add NAME`, or serve on localhost only. "
                "If a proxy in front of the app signs people in, set COACH_ALLOW_PUBLIC_WITHOUT_AUTH=1.")
        print(f"error: {message}\n  what to do: {hint}", file=sys.stderr, flush=True)
        show_error(CoachError(message, hint))
        st.stop()


def session_key(rt: Runtime) -> str:
    """The key that signs session cookies: COACH_COOKIE_KEY, else one made once and kept under the data directory."""
    key = rt.settings.cookie_key.get_secret_value()
    if key:
        return key
    path = rt.settings.data_dir / "session.key"
    if not path.is_file():
        # Several first page loads at once (or several app processes) may all get here: each writes a
        # key to a file of its own, and the first to link its file in place wins. A linked file is
        # complete, so nobody reads a half-written key.
        path.parent.mkdir(parents=True, exist_ok=True)
        mine = path.with_name(f"session.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        try:
            os.link(mine, path)
        except FileExistsError:
            pass  # another page load was first: use its key
        finally:
            mine.unlink()
    return path.read_text().strip()


COOKIE = "upward_session"


def sign_in() -> str:
    """With accounts on, the signed-in user's name; shows the sign-in form and stops the page until then."""
    import streamlit_authenticator as stauth

    rt = runtime()
    credentials = rt.accounts.credentials()
    if not credentials["usernames"]:
        show_error(CoachError("This deployment has accounts (COACH_AUTH=password), but no users yet.",
                              "On the server, add one with `coach users add NAME`."))
        st.stop()
    auth = stauth.Authenticate(credentials, COOKIE, session_key(rt), rt.settings.session_days,
                               auto_hash=False)
    heading = st.empty()
    if not st.session_state.get("authentication_status"):
        heading.markdown("### Upward\nSign in to your coach.")
    if why := st.session_state.pop(SIGNED_OUT_WHY, None):
        st.info(why, icon=":material/lock_reset:")
    try:
        auth.login(location="unrendered")  # a sign-in remembered by this browser's cookie, if any
        if not st.session_state.get("authentication_status"):
            sign_in_form(auth)
    except Exception as exc:  # the library raises its own errors for bad input
        show_error(CoachError(f"Could not sign in: {exc}", "Check the user name and password."))
    status = st.session_state.get("authentication_status")
    if status is False:
        st.error("Wrong user name or password.", icon=":material/lock:")
    user = st.session_state.get("username") if status else None
    if status and user not in credentials["usernames"]:  # removed (coach users rm) while signed in
        auth.logout(location="unrendered")
        forget_previous_person(None)  # in a session that was just restored from its cookie too
    elif status and password_changed_since_sign_in(rt, user):  # coach users passwd ends every session
        auth.logout(location="unrendered")
        st.session_state[SIGNED_OUT_WHY] = "Your password was changed since you signed in: sign in with the new one."
        forget_previous_person(None)
    previous = st.session_state.get(SIGNED_IN)
    if previous is not None and previous != user:  # signed out, or another person signed in here
        forget_previous_person(user)
    st.session_state[SIGNED_IN] = user
    if not status:
        st.session_state[FORM_SHOWN] = True
        st.session_state.pop(COOKIE_PENDING, None)
        st.stop()
    heading.empty()
    with st.sidebar:
        st.caption(f"Signed in as **{st.session_state.get('name') or user}**")
        auth.logout("Sign out", "sidebar")
        if not st.session_state.get("authentication_status"):  # signed out just now (the cookie is gone)
            if st.session_state.get(COOKIE_PENDING):
                expire_pending_cookie(auth)
            forget_previous_person(None)
        keep_setting_cookie(auth)
    return user


def expire_pending_cookie(auth) -> None:
    """Signed out while the sign-in cookie was still being set: give the component that sets it an
    expired cookie, so that an iframe of it still loading cannot store the sign-in after the delete."""
    import datetime

    auth.cookie_controller.cookie_model.cookie_manager.set(
        COOKIE, "", expires_at=datetime.datetime.now() - datetime.timedelta(days=1))


def keep_setting_cookie(auth) -> None:
    """Store the sign-in cookie in the browser, rendering the library's cookie component in every run
    until the browser reports that it has stored it.

    The component does its work in an iframe once that has loaded. Rendered in one run only, a rerun
    that came first (the cookie manager's own report after the page loads, a click) removed it
    unloaded: the person was signed in, but a reload showed the sign-in form again.
    """
    if not st.session_state.get(COOKIE_PENDING):
        return
    if st.session_state.get(COOKIE_SET_KEY) is True:  # the component's value: its set() ran in the browser
        st.session_state.pop(COOKIE_PENDING, None)
        return
    auth.cookie_controller.set_cookie()


def sign_in_form(auth) -> None:
    """The sign-in form. Its click is kept (see Submitted) until it is acted on: the library's own form
    lost it when the cookie component's rerun, right after the page first loads, stopped that run."""
    kept = Submitted("sign-in")
    with st.form("sign-in"):
        st.subheader("Sign in")
        st.text_input("Username", key="sign-in-user", autocomplete="username")
        st.text_input("Password", type="password", key="sign-in-password", autocomplete="current-password")
        st.form_submit_button("Sign in", on_click=kept.on_submit(
            lambda values: (values.get("sign-in-user") or "", values.get("sign-in-password") or "")))
    if (entered := kept.waiting()) is not None:
        try:
            # The cookie is set by keep_setting_cookie, from this run on; a failed sign-in drops the flag.
            st.session_state[COOKIE_PENDING] = True
            auth.authentication_controller.login(*entered)  # False, and the status False, when wrong
        except Exception:
            kept.done()
            raise
        # Not in a `finally`: a rerun that stops this run before it has signed in (Streamlit's stop is a
        # BaseException) leaves the click kept, and the next run signs in with it. The password is kept
        # no longer than it takes to sign in (at most Submitted.TRIES runs).
        kept.done()


SIGNED_IN = "upward-signed-in"
SIGNED_AT = "upward-signed-at"
FORM_SHOWN = "upward-sign-in-form-shown"
SIGNED_OUT_WHY = "upward-signed-out-why"
COOKIE_PENDING = "upward-cookie-pending"
COOKIE_SET_KEY = "set"  # the key streamlit-authenticator's cookie manager gives its component that sets
# What streamlit-authenticator keeps in the session (and the sign-in form's own state); everything
# else belongs to the person signed in.
AUTH_KEYS = {"authentication_status", "username", "name", "email", "roles", "logout", "password_hint", "init",
             FORM_SHOWN, SIGNED_OUT_WHY, COOKIE_PENDING}


def password_changed_since_sign_in(rt: Runtime, user: str) -> bool:
    """Whether the user's password changed after this session signed in.

    A session signed in with the form counts from then; one restored from the sign-in cookie, from
    when the cookie was issued (its expiry less the session length), so an old cookie stops working.
    """
    signed_at = st.session_state.get(SIGNED_AT)
    if signed_at is None:
        signed_at = time.time() if st.session_state.get(FORM_SHOWN) else cookie_issued(rt)
        st.session_state[SIGNED_AT] = signed_at
    changed = rt.accounts.password_changed(user)
    return changed is not None and changed > signed_at


def cookie_issued(rt: Runtime) -> float:
    """When this browser's sign-in cookie was issued (0, so that any password change ends it, if unreadable)."""
    import jwt

    token = st.context.cookies.get(COOKIE)
    try:
        claims = jwt.decode(token, session_key(rt), algorithms=["HS256"]) if token else {}
        return float(claims["exp_date"]) - rt.settings.session_days * 86400
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return 0.0


def forget_previous_person(user: str | None) -> None:
    """Someone signed out, or another person signed in at this browser: drop everything the page
    kept for the previous one (their chat, a review, a pending note, an export), then start again."""
    for key in list(st.session_state.keys()):
        if key not in AUTH_KEYS:
            del st.session_state[key]
    st.session_state[SIGNED_IN] = user
    st.query_params.clear()
    st.rerun()
