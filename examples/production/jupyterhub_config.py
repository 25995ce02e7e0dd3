"""JupyterHub configuration for a team: HTTPS, accounts approved by an admin, limits, idle culling.

Values that differ per installation come from the environment, which
docker-compose.yml sets; everything else is fixed here with the reason for it.
"""

import asyncio
import os
import sys
import time

from dockerspawner import DockerSpawner
from jupyterhub.utils import wait_for_http_server

c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)


def required(name: str) -> str:
    """Read a setting from the environment, or stop with a message naming it."""
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"jupyterhub_config.py: set the environment variable {name} (see the production page).")
    return value


# --- Who may log in ----------------------------------------------------------
# The admin manages users on the admin page and approves sign-ups.
c.Authenticator.admin_users = {required("HUB_ADMIN")}
# Everyone who passes the authenticator may use the hub: the authenticator
# itself decides who that is (an approved account, or a member of a group).
c.Authenticator.allow_all = True

login = os.environ.get("HUB_LOGIN", "native")
if login == "native":
    # [native-login]
    # Accounts kept by the hub: people sign up at /hub/signup, and an admin
    # approves each account at /hub/authorize before it can log in.
    from nativeauthenticator import NativeAuthenticator
    from nativeauthenticator.handlers import LoginHandler

    # [statsd-workaround]
    # nativeauthenticator 1.3.0 times each login with `self.statsd`, which
    # JupyterHub 6 removed: every login fails with HTTP 500. Until a release
    # fixes it, its login page gets a timer that does nothing.
    class NoTimer:
        """Stands in for the statsd client JupyterHub 6 no longer has (and counts nothing on JupyterHub 5)."""

        def timer(self, name):
            return self

        def incr(self, name, count=1):
            pass

        def start(self):
            return self

        def stop(self, send=True):
            pass

    class NativeLoginHandler(LoginHandler):
        statsd = NoTimer()

    class NativeAuthenticatorForHub6(NativeAuthenticator):
        def get_handlers(self, app):
            handlers = super().get_handlers(app)
            return [(url, NativeLoginHandler if h is LoginHandler else h) for url, h in handlers]

    # [statsd-workaround-end]
    c.JupyterHub.authenticator_class = NativeAuthenticatorForHub6
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = 12
    c.NativeAuthenticator.check_common_password = True
    # Five wrong passwords in a row lock an account for ten minutes.
    c.NativeAuthenticator.allowed_failed_logins = 5
    c.NativeAuthenticator.seconds_before_next_try = 600
    # [native-login-end]

    # [waiting-sign-ups]
    # An admin's home page says how many sign-ups wait for approval, with a link to approve them.
    from nativeauthenticator.orm import UserInfo

    def waiting_sign_ups(user):
        """The notice for an admin's home page; None (the hub's usual announcement) for anyone else."""
        if user is None or not user.admin:
            return None
        waiting = user.db.query(UserInfo).filter(UserInfo.is_authorized.is_(False)).count()
        if not waiting:
            return None
        accounts = "sign-up waits" if waiting == 1 else "sign-ups wait"
        return f'{waiting} {accounts} for your approval: <a href="{base_url}hub/authorize">Authorize users</a>'

    c.JupyterHub.template_vars = {"announcement_home": waiting_sign_ups}
    # [waiting-sign-ups-end]
elif login == "oidc":
    # [oidc-login]
    # Log in with your organisation's OpenID Connect provider instead.
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.login_service = required("OIDC_PROVIDER_NAME")
    c.GenericOAuthenticator.authorize_url = required("OIDC_AUTHORIZE_URL")
    c.GenericOAuthenticator.token_url = required("OIDC_TOKEN_URL")
    c.GenericOAuthenticator.userdata_url = required("OIDC_USERINFO_URL")
    c.GenericOAuthenticator.oauth_callback_url = f"{required('HUB_PUBLIC_URL')}/hub/oauth_callback"
    c.GenericOAuthenticator.client_id = required("OIDC_CLIENT_ID")
    c.GenericOAuthenticator.client_secret = required("OIDC_CLIENT_SECRET")
    c.GenericOAuthenticator.scope = ["openid", "profile", "email", "groups"]
    c.GenericOAuthenticator.username_claim = "preferred_username"
    c.GenericOAuthenticator.enable_pkce = True
    # Only members of this provider group get an AI Lab; the admin group runs the hub.
    # The groups come from the `groups` claim of the provider's user info.
    c.GenericOAuthenticator.allow_all = False
    c.GenericOAuthenticator.manage_groups = True
    c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
    c.GenericOAuthenticator.allowed_groups = {required("OIDC_USERS_GROUP")}
    c.GenericOAuthenticator.admin_groups = {required("OIDC_ADMINS_GROUP")}
    # [oidc-login-end]
elif login == "ldap":
    # [ldap-login]
    # Log in with your directory's accounts (OpenLDAP, Active Directory).
    import ssl

    c.JupyterHub.authenticator_class = "ldap"
    c.LDAPAuthenticator.server_address = required("LDAP_SERVER")
    c.LDAPAuthenticator.server_port = int(required("LDAP_PORT"))
    # StartTLS before the password goes over the wire, and the directory's
    # certificate checked against its CA (ldap3 checks nothing without `validate`).
    c.LDAPAuthenticator.tls_strategy = "before_bind"
    c.LDAPAuthenticator.tls_kwargs = {"ca_certs_file": "/run/secrets/ldap_ca", "validate": ssl.CERT_REQUIRED}
    # A user logs in with her own entry's name and password: no service account.
    c.LDAPAuthenticator.bind_dn_template = [required("LDAP_BIND_DN_TEMPLATE")]
    # Members of either group may log in; the admins' group also makes admins.
    users_group, admins_group = required("LDAP_USERS_GROUP"), required("LDAP_ADMINS_GROUP")
    c.LDAPAuthenticator.allow_all = False
    c.LDAPAuthenticator.allowed_groups = [users_group, admins_group]

    def admin_from_group(authenticator, handler, authentication):
        """An admin is HUB_ADMIN or a member of the admins' group; leaving the group ends it at the next login."""
        groups = (authentication.get("auth_state") or {}).get("ldap_groups", [])
        authentication["admin"] = bool(authentication["admin"]) or admins_group in groups
        return authentication

    c.LDAPAuthenticator.post_auth_hook = admin_from_group
    # [ldap-login-end]
else:
    raise SystemExit(
        f"jupyterhub_config.py: HUB_LOGIN={login} is none of native, oidc, ldap (see the production page)."
    )

# --- HTTPS ---------------------------------------------------------------------
# The hub's address path: "/" by default, "/jupyter/" say behind your own
# reverse proxy (the guide's page "HTTPS and logins your company runs").
base_url = os.environ.get("HUB_BASE_URL", "/")
if os.environ.get("HUB_TLS", "on") == "on":
    # The proxy terminates TLS itself. Certificate and key come from files that
    # compose mounts as secrets; they are never part of the image or this folder.
    c.JupyterHub.bind_url = f"https://0.0.0.0:8443{base_url}"
    c.JupyterHub.ssl_cert = "/run/secrets/tls_cert"
    c.JupyterHub.ssl_key = "/run/secrets/tls_key"
else:
    # Behind a reverse proxy that terminates TLS (behind-proxy.yml sets HUB_TLS=off).
    c.JupyterHub.bind_url = f"http://0.0.0.0:8443{base_url}"

# --- The hub and its state -----------------------------------------------------
# AI Lab containers reach the hub API by the service name on the user network.
c.JupyterHub.hub_ip = "hub"
# Database and cookie secret live on the hub-data volume; the cookie secret is
# generated on first start.
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/data/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/data/jupyterhub_cookie_secret"
# A hub restart (an upgrade, a changed setting) leaves users' servers running:
# the restarted hub finds them in its database and routes to them again.
c.JupyterHub.cleanup_servers = False

# --- Idle servers are stopped ------------------------------------------------------
# jupyterhub-idle-culler runs as a service of the hub, with only the rights it
# needs, and stops servers nobody has used for IDLE_TIMEOUT seconds. Their
# notebooks stay on the users' volumes.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={int(required('IDLE_TIMEOUT'))}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]

# --- One AI Lab container per user ---------------------------------------------------


# [start-queue]
class QueuedDockerSpawner(DockerSpawner):
    """DockerSpawner that starts a few servers at a time, in the order users asked; the rest wait their turn."""

    # One start per core: more at a time only shares the cores among more starts, so each ends later.
    slots = asyncio.Semaphore(os.cpu_count() or 1)

    async def start(self):
        async with self.slots:
            ip, port = await super().start()
            # The slot is held until the server answers (its start is what needs the CPU),
            # or until its container stops: a server that cannot start frees its slot at once.
            answers = asyncio.ensure_future(self.answers(f"http://{ip}:{port}{self.server.base_url}"))
            while not answers.done() and await self.poll() is None:
                await asyncio.wait([answers], timeout=1)
            if answers.done():
                answers.result()  # a server that never answered fails its start here
            else:
                answers.cancel()  # its container stopped; the hub notices that by itself
        return ip, port

    async def answers(self, url):
        """Wait until the server answers, asking a few times a second, so the next start follows at once."""
        deadline = time.monotonic() + self.http_timeout
        while True:
            try:
                return await wait_for_http_server(url, timeout=0.5)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


# A class logging in at once: the first users are ready in seconds, not all together at the end
# (see "When a class logs in at once" on the production page, and the Benchmarks page's figure).
c.JupyterHub.spawner_class = QueuedDockerSpawner
# [start-queue-end]
c.DockerSpawner.image = required("AI_LAB_IMAGE")
# Compose builds the image before the hub starts, so no user waits for a pull
# of the large AI Lab image (see "Pre-pull" on the production page).
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.network_name = required("DOCKER_NETWORK_NAME")
# Containers are disposable; the notebooks live on the user's volume.
c.DockerSpawner.remove = True
# Names of their own, so this hub and a trial of the minimal example on the
# same machine never share (or clean up) each other's containers and volumes.
c.DockerSpawner.name_template = "ai-lab-production-{username}"
c.DockerSpawner.volumes = {"ai-lab-production-notebooks-{username}": "/home/jupyter/notebooks"}
c.DockerSpawner.notebook_dir = "/home/jupyter/notebooks"
c.DockerSpawner.default_url = "/lab/tree/start.ipynb"
c.DockerSpawner.start_timeout = 300
c.DockerSpawner.http_timeout = 120
# Each user gets at most this much memory and CPU, so one heavy notebook
# cannot starve the others on the host.
c.DockerSpawner.mem_limit = required("USER_MEM_LIMIT")
c.DockerSpawner.cpu_limit = float(required("USER_CPU_LIMIT"))
# Least privilege: no Linux capabilities, no privilege gain through sudo, and
# a cap on processes so a runaway fork cannot exhaust the host.
c.DockerSpawner.extra_host_config = {
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": 1024,
}

# --- The team's Exasol database -------------------------------------------------------
# [team-database]
# Every AI Lab gets the database's address; a startup file of the users' image
# offers it in each user's own AI Lab configuration (her credentials stay hers).
TEAM_DATABASE = ("EXASOL_DB_HOST", "EXASOL_DB_PORT", "EXASOL_DB_SCHEMA", "EXASOL_DB_CERT_VALIDATION")
if os.environ.get("EXASOL_DB_HOST"):
    c.DockerSpawner.environment.update({name: os.environ[name] for name in TEAM_DATABASE if os.environ.get(name)})
# [team-database-end]

# --- A user's own packages ----------------------------------------------------------
# [user-packages]
# `pip install` in a user's AI Lab goes to her volume, so her packages are there
# at her next start; the AI Lab's own packages stay at the image's versions.
# pip's advice to upgrade itself is off: pip, too, is the image's.
c.DockerSpawner.environment.update(
    {
        "PIP_PREFIX": "/home/jupyter/notebooks/.local",
        "PIP_CONSTRAINT": "/etc/ai-lab/constraints.txt",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
)
# [user-packages-end]

# --- The team folder ---------------------------------------------------------------
# [team-folder]
# Two volumes every AI Lab mounts inside its notebook folder, so they show in
# JupyterLab: reference data nobody can change from a notebook, and a project
# folder everyone can edit. Compose creates both (see docker-compose.yml).
c.DockerSpawner.volumes.update(
    {
        "ai-lab-production-team-data": {"bind": "/home/jupyter/notebooks/team-data", "mode": "ro"},
        "ai-lab-production-team-project": "/home/jupyter/notebooks/team-project",
    }
)
# [team-folder-end]

# --- Sizes to choose from at start ---------------------------------------------------
# [sizes]
# Each user picks a size when their server starts. "standard" has the limits
# above; "large" those of USER_LARGE_MEM_LIMIT and USER_LARGE_CPU_LIMIT.
SIZES = {
    "standard": (c.DockerSpawner.mem_limit, c.DockerSpawner.cpu_limit),
    "large": (required("USER_LARGE_MEM_LIMIT"), float(required("USER_LARGE_CPU_LIMIT"))),
}
c.DockerSpawner.options_form = "\n".join(
    [
        "<fieldset><legend>Size of your AI Lab</legend>",
        *(
            f'<label><input type="radio" name="size" value="{name}"{" checked" if name == "standard" else ""}>'
            f" {name}: memory {memory}, CPUs {cpus:g}</label><br>"
            for name, (memory, cpus) in SIZES.items()
        ),
        "</fieldset>",
    ]
)


def size_from_form(formdata):
    """The form's choice becomes the server's user options."""
    return {"size": formdata.get("size", ["standard"])[0]}


def apply_size(spawner):
    """Set the chosen size's limits before the container is created (standard if none was chosen)."""
    size = spawner.user_options.get("size", "standard")
    if size not in SIZES:
        raise ValueError(f"Unknown size {size!r}; choose one of {', '.join(SIZES)}.")
    spawner.mem_limit, spawner.cpu_limit = SIZES[size]


c.DockerSpawner.options_from_form = size_from_form
c.DockerSpawner.pre_spawn_hook = apply_size
# [sizes-end]
