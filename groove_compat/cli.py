"""Operators' commands: ``groove-compat db|catalog|orgs|users|tokens|serve|demo|import|openapi``.

Every command takes ``--db PATH``; without it the database is ``GROOVE_COMPAT_DATABASE``, then
``groove-compat.sqlite`` in the instance folder. These names are part of the interface: scripts depend on them.
"""

import datetime
import functools
import importlib.resources
import os
import sys

import click
from tqdm import tqdm

from . import catalog, ids
from .app import create_app, get_store
from .store import StoreError


def database_option(command):
    @click.option(
        "--db",
        "database",
        type=click.Path(dir_okay=False),
        default=None,
        help="SQLite database file (default: $GROOVE_COMPAT_DATABASE, then the instance folder).",
    )
    @functools.wraps(command)
    def wrapper(*args, database=None, **kwargs):
        return command(*args, database=database, **kwargs)

    return wrapper


def organization_option(command):
    return click.option(
        "--org",
        "organization",
        default=None,
        help="Organization id (org_...); default: the install's default organization.",
    )(command)


class Context:
    """The app, its store and its id codec for one command."""

    def __init__(self, database, *, require_schema=True):
        overrides = {"DATABASE": os.path.abspath(database)} if database else None
        self.app = create_app(overrides)
        self.store = get_store(self.app)
        self.database = self.app.config["DATABASE"]
        if require_schema:
            try:
                self.store.require_current_schema()
            except StoreError as error:
                raise click.ClickException(str(error)) from None
            self.codec = ids.IdCodec(self.store.id_key())

    def organization_id(self, organization):
        if organization is None:
            return 1
        row_id = self.codec.parse_public_id("organization", organization)
        if row_id is None or self.store.organization(row_id) is None:
            raise click.ClickException(f"no organization {organization!r}")
        return row_id

    def user_id(self, user):
        row_id = self.codec.parse_public_id("user", user)
        if row_id is not None and self.store.user(row_id) is not None:
            return row_id
        named = self.store.users_named(user)
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise click.ClickException(f"several users are named {user!r}: give the user id (usr_...)")
        raise click.ClickException(f"no user {user!r}")


def _when(milliseconds):
    if milliseconds is None:
        return "-"
    return datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@click.group()
@click.version_option(package_name="groove-compat")
def main():
    """groove-compat: a Groove Music collection API server on SQLite."""


# ---------------------------------------------------------------------------------------------------------
@main.group()
def db():
    """Create, migrate and check the database."""


@db.command("init")
@database_option
def db_init(database):
    """Create the database, or migrate it to the current schema (running it twice is harmless)."""
    context = Context(database, require_schema=False)
    os.makedirs(os.path.dirname(context.database) or ".", exist_ok=True)
    try:
        before, after = context.store.migrate()
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    if before == after:
        click.echo(f"{context.database}: already at schema version {after}")
    else:
        click.echo(f"{context.database}: schema version {before} -> {after}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@database_option
def db_backup(path, database):
    """Copy the database to PATH (a new file), online: the server may keep serving and writing."""
    context = Context(database)
    try:
        result = context.store.backup(path)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    if result != ["ok"]:
        raise click.ClickException(f"the copy at {path} fails its integrity check: {result[:3]}")
    click.echo(f"{context.database} -> {path}: {os.path.getsize(path)} bytes, integrity ok")


@db.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@database_option
def db_restore(path, database):
    """Replace the database's content with the backup at PATH (checked first). Everything written since
    that backup is lost; a running server serves the restored content from its next request on."""
    context = Context(database, require_schema=False)
    try:
        context.store.restore(path)
        context.store.migrate()  # a backup from an older version is brought up to date
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path} -> {context.database}: restored, schema version {context.store.schema_version()}")


# ---------------------------------------------------------------------------------------------------------
@main.group("catalog")
def catalog_group():
    """Load catalog tracks."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@database_option
@organization_option
def catalog_import(file, database, organization):
    """Load tracks from FILE (.csv with a header row, or .jsonl); importing again updates rows in place."""
    context = Context(database)
    organization_id = context.organization_id(organization)
    started = datetime.datetime.now()
    try:
        kind = catalog.file_kind(file)
    except catalog.CatalogFileError as error:
        raise click.ClickException(str(error)) from None
    with tqdm(
        total=os.path.getsize(file),
        unit="B",
        unit_scale=True,
        desc=f"importing {os.path.basename(file)}",
        disable=not sys.stderr.isatty(),
        file=sys.stderr,
    ) as bar:

        def progress(position):
            bar.update(position - bar.n)

        try:
            summary = catalog.import_file(context.store, file, organization_id=organization_id, progress=progress)
        except catalog.CatalogFileError as error:
            raise click.ClickException(f"{file}: {error}") from None
    for line_number, reason in summary.bad_rows[:1000]:
        click.echo(f"{file}:{line_number}: {reason}", err=True)
    if len(summary.bad_rows) > 1000:
        click.echo(f"... and {len(summary.bad_rows) - 1000} more bad rows", err=True)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    click.echo(
        f"{kind}: {summary.rows_read} rows read, {summary.rows_stored} stored, {len(summary.bad_rows)} bad, "
        f"in {elapsed:.1f}s; the catalog now holds {context.store.count_tracks(organization_id=organization_id)} tracks"
    )
    if summary.bad_rows:
        sys.exit(1 if summary.rows_stored == 0 else 0)


# ---------------------------------------------------------------------------------------------------------
@main.group()
def orgs():
    """Create and list organizations (tenants: each has its own catalog and users)."""


@orgs.command("create")
@click.argument("name")
@database_option
def orgs_create(name, database):
    """Create an organization and print its id (org_...), the value of --org elsewhere."""
    context = Context(database)
    if not name.strip():
        raise click.ClickException("the name must not be empty")
    organization_id = context.store.create_organization(name=name)
    click.echo(context.codec.public_id("organization", organization_id))


@orgs.command("list")
@database_option
def orgs_list(database):
    """List organizations: id, users, tracks, creation time and name (the first is the default one)."""
    context = Context(database)
    for organization in context.store.organizations():
        click.echo(
            f"{context.codec.public_id('organization', organization['id'])}  "
            f"{organization['user_count']} users  {organization['track_count']} tracks  "
            f"created {_when(organization['created_at'])}  {organization['name']}"
        )


# ---------------------------------------------------------------------------------------------------------
@main.group()
def users():
    """Create users."""


@users.command("create")
@click.argument("name")
@database_option
@organization_option
def users_create(name, database, organization):
    """Create a user (with an empty collection) and print the user's id."""
    context = Context(database)
    if not name.strip():
        raise click.ClickException("the name must not be empty")
    user_id = context.store.create_user(name=name, organization_id=context.organization_id(organization))
    click.echo(context.codec.public_id("user", user_id))


# ---------------------------------------------------------------------------------------------------------
@main.group()
def tokens():
    """Issue, list and revoke bearer tokens (also usable as v1 API keys)."""


@tokens.command("issue")
@click.argument("user")
@database_option
def tokens_issue(user, database):
    """Issue a new token for USER (id or unique name); the token is the last line, shown only once."""
    context = Context(database)
    user_id = context.user_id(user)
    token = ids.new_token()
    credential_id = context.store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
    click.echo(
        f"credential {context.codec.public_id('credential', credential_id)} for user "
        f"{context.codec.public_id('user', user_id)}; only its hash is stored, so copy it now:"
    )
    click.echo(token)


@tokens.command("revoke")
@click.argument("token")
@database_option
def tokens_revoke(token, database):
    """Revoke TOKEN (the token itself, or its credential id tok_...): it fails from the next request on."""
    context = Context(database)
    credential_id = context.codec.parse_public_id("credential", token)
    if credential_id is None:
        row = context.store.credential_for_hash(ids.token_hash(token))
        credential_id = None if row is None else row[0]
    if credential_id is None or not context.store.revoke_credential(credential_id):
        raise click.ClickException("no such active token")
    click.echo(f"revoked {context.codec.public_id('credential', credential_id)}")


@tokens.command("list")
@click.argument("user")
@database_option
def tokens_list(user, database):
    """List USER's credentials: ids, creation times and status (never the tokens)."""
    context = Context(database)
    for credential in context.store.credentials_of_user(context.user_id(user)):
        status = "active" if credential["revoked_at"] is None else f"revoked {_when(credential['revoked_at'])}"
        click.echo(
            f"{context.codec.public_id('credential', credential['id'])}  created {_when(credential['created_at'])}  {status}"
        )


# ---------------------------------------------------------------------------------------------------------
def _run_server(context, bind, workers, threads, on_ready=None):
    from .app import transport_error_response
    from .server import serve

    # The master must not keep a connection across fork: each worker opens its own.
    context.store.close()
    app = context.app
    serve(
        app,
        bind=bind,
        workers=workers,
        threads=threads,
        request_timeout=app.config["REQUEST_TIMEOUT"],
        render_refusal=functools.partial(transport_error_response, app),
        on_starting=on_ready,
    )


@main.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (more than 1: threaded workers, so a slow client holds a thread, not a process).",
)
@database_option
def serve_command(bind, workers, threads, database):
    """Serve the API under the production WSGI server (gunicorn)."""
    context = Context(database)
    _run_server(context, bind, workers, threads)


# ---------------------------------------------------------------------------------------------------------
@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--url", default=None, help="Base URL of the server, e.g. http://127.0.0.1:8000 (not needed with --dry-run).")
@click.option("--token", default=None, help="The user's bearer token (never printed or logged).")
@click.option(
    "--token-file", type=click.Path(exists=True, dir_okay=False), default=None,
    help="Read the token from this file instead (keeps it out of the process list).",
)
@click.option("--column", default=None, help="CSV: the column holding track ids (default: id).")
@click.option("--isrc-column", default=None, help="CSV: a column of ISRCs, sent as music.isrc.{ISRC} ids.")
@click.option("--key", default=None, help="JSON Lines: the member holding track ids (default: id).")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 32), help="Requests in flight.")
@click.option(
    "--batch-size", default=100, show_default=True, type=click.IntRange(1, 100),
    help="Most ids per request (a smaller server limit is learnt from its answer).",
)
@click.option("--format", "wire_format", default="json", show_default=True, type=click.Choice(["json", "xml"]),
              help="Request and answer bodies on the wire.")
@click.option("--namespace", default="2013", show_default=True, type=click.Choice(["2013", "2016"]),
              help="XML namespace of --format xml bodies (2013: seed 003; 2016: the SDK's).")
@click.option("--dry-run", is_flag=True, help="Validate the file and say what would be sent; send nothing.")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Failure report CSV (default: FILE.failures.csv).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint file (default: FILE.import-checkpoint.json).")
@click.option("--restart", is_flag=True, help="Ignore an existing checkpoint and start over.")
@click.option(
    "--count-present/--no-count-present", default=True, show_default=True,
    help="List the collection first to count ids already present apart from added ones.",
)
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait for an answer.")
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100),
              help="Attempts per batch for retryable failures (429, 5xx, 409, timeouts, connection errors).")
@click.option("--backoff", default=0.5, show_default=True, type=click.FloatRange(0, 60),
              help="Base of the exponential backoff, in seconds.")
@click.option("--backoff-cap", default=30.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Longest backoff, in seconds (a longer Retry-After is still honoured).")
@click.option("--progress", default="auto", show_default=True, type=click.Choice(["auto", "bar", "lines", "none"]),
              help="auto: a bar on a terminal, plain lines otherwise.")
@click.option("--progress-every", default=10.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between plain progress lines.")
def import_command(file, url, token, token_file, column, isrc_column, key, concurrency, batch_size, wire_format,
                   namespace, dry_run, report, checkpoint, restart, count_present, timeout, max_attempts, backoff,
                   backoff_cap, progress, progress_every):
    """Add the track ids of FILE to the token's user's collection, in batches, resumably.

    FILE is a text file (one id per line), a CSV file (--column, or --isrc-column) or JSON Lines (--key).
    Ids are deduplicated; rows without a usable id are reported, not sent. 429 (after Retry-After), 5xx, 409,
    timeouts and connection errors are retried with backoff; 400 and 401 stop the run. Interrupted runs resume
    from FILE.import-checkpoint.json with the same command. A summary is printed and every failed id is written
    to FILE.failures.csv (line,id,error_code,description,message).

    \b
    Exit status:
      0  every id was added or already present
      1  the run completed, some ids or rows failed (see the report)
      2  usage or input-file error: nothing was sent
      3  stopped by a fatal server answer (e.g. 401): the checkpoint is kept
      4  gave up after --max-attempts on a retryable failure: the checkpoint is kept
      130 interrupted (Ctrl-C, SIGTERM): the checkpoint is kept
    """
    import signal
    import threading

    from . import importer

    def usage(message):
        click.echo(f"error: {message}", err=True)
        sys.exit(importer.EXIT_USAGE)

    if not os.path.isfile(file):
        usage(f"{file} is not a file")
    if token is not None and token_file is not None:
        usage("give --token or --token-file, not both")
    if token_file is not None:
        with open(token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    if not dry_run:
        if not url:
            usage("--url is required (except with --dry-run)")
        if not url.startswith(("http://", "https://")):
            usage("--url must start with http:// or https://")
        if not token:
            usage("--token or --token-file is required (except with --dry-run)")
        if "\n" in token or "\r" in token:
            usage("the token must be one line")
    options = importer.Options(
        url=url, token=token, path=file, column=column, key=key, isrc_column=isrc_column, concurrency=concurrency,
        batch_size=batch_size, format=wire_format, namespace=namespace, dry_run=dry_run, report=report,
        checkpoint=checkpoint, restart=restart, count_present=count_present, timeout=timeout,
        retry=importer.RetryPolicy(max_attempts=max_attempts, base=backoff, cap=backoff_cap),
        progress=progress, progress_every=progress_every,
    )
    run = importer.Importer(options)
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            handlers[signal_number] = signal.signal(signal_number, lambda number, frame: run.interrupt())
    try:
        status = run.run()
    finally:
        for signal_number, handler in handlers.items():
            signal.signal(signal_number, handler)
    sys.exit(status)


SAMPLE_TRACK = "music.A83EB907-0100-11DB-89CA-0019B92A3933"


@main.command("demo")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@database_option
def demo(bind, workers, database):
    """A fresh demo database (sample catalog, a demo user and token), then serve it."""
    if database is None:
        database = os.path.join(create_app().instance_path, "groove-compat-demo.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
    context = Context(database, require_schema=False)
    context.store.migrate()
    context.codec = ids.IdCodec(context.store.id_key())
    sample = importlib.resources.files("groove_compat") / "data" / "sample_catalog.csv"
    with importlib.resources.as_file(sample) as sample_path:
        summary = catalog.import_file(context.store, str(sample_path), organization_id=1)
    user_id = context.store.create_user(name="demo", organization_id=1)
    token = ids.new_token()
    context.store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
    host, _, port = bind.rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0", "[::]") else host
    base_url = f"http://{host}:{port}"
    click.echo(f"database:  {context.database} ({summary.rows_stored} sample tracks)")
    click.echo(f"user:      {context.codec.public_id('user', user_id)}")
    click.echo(f"track id:  {SAMPLE_TRACK}")
    click.echo(f"token:     {token}")
    click.echo("try:")
    click.echo(
        f"curl -sS -X POST {base_url}/1/content/music/collection/add -H 'Authorization: Bearer {token}'"
        f" -H 'Content-Type: application/json' -d '{{\"TrackIds\":[\"{SAMPLE_TRACK}\"]}}'"
    )
    sys.stdout.flush()
    _run_server(context, bind, workers, 4)


# ---------------------------------------------------------------------------------------------------------
# The published OpenAPI document (kept in its own block: other commands are added above).
@main.command("openapi")
@click.option(
    "--json-schemas",
    "json_schemas_directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Instead of printing the document, write the v1 JSON Schema files cut from it into this folder "
    "(schemas/json/v1).",
)
def openapi_command(json_schemas_directory):
    """Print the OpenAPI document that GET /openapi.json serves (JSON). With the default settings this is
    schemas/openapi.json: regenerate it with `groove-compat openapi > schemas/openapi.json`, and the v1 JSON
    Schemas with `groove-compat openapi --json-schemas schemas/json/v1`."""
    from . import openapi

    app = create_app()
    if json_schemas_directory is not None:
        from .openapi.json_schemas import write_json_schemas

        written = write_json_schemas(openapi.document(app), json_schemas_directory)
        click.echo(f"wrote {len(written)} schemas to {json_schemas_directory}")
        return
    click.echo(openapi.document_text(openapi.document(app)), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
