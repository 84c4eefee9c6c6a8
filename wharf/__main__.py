"""`python -m wharf`: run the store, one service, the gateway, migrations or dead letters."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from shared.errors import ConfigurationError
from shared.logging import configure_logging
from shared.settings import PlatformSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wharf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="all-in-one mode: every service in one process on 127.0.0.1:8080")
    commands.add_parser("up", help="distributed mode: each service its own process, RabbitMQ as the bus")
    serve = commands.add_parser("serve", help="run one service (used by `up`, containers and Kubernetes)")
    serve.add_argument("service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    commands.add_parser("gateway", help="run the gateway against WHARF_GATEWAY_UPSTREAMS")
    migrate = commands.add_parser("migrate", help="apply a service's migrations and exit")
    migrate.add_argument("service")
    dlq = commands.add_parser("dlq", help="list or replay a service's dead letters (RabbitMQ)")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("service")
    dlq.add_argument("--id", help="replay only the message with this event id")
    args = parser.parse_args(argv)

    platform = PlatformSettings()
    configure_logging(platform.log_level, json=platform.log_json)

    if args.command == "run":
        from wharf.allinone import serve_all_in_one

        try:
            asyncio.run(serve_all_in_one(platform))
        except KeyboardInterrupt:
            pass
        except ConfigurationError as error:
            print(f"Wharf did not start: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "up":
        from wharf.distributed import run_distributed

        return run_distributed()
    if args.command == "serve":
        from wharf.distributed import serve_service

        serve_service(args.service, args.host, args.port)
        return 0
    if args.command == "gateway":
        from wharf.distributed import serve_gateway

        serve_gateway()
        return 0
    if args.command == "migrate":
        return migrate_service(args.service, platform)
    if args.command == "dlq":
        return asyncio.run(dead_letters(args.action, args.service, args.id, platform))
    return 2


def migrate_service(name: str, platform: PlatformSettings) -> int:
    from shared.db import ensure_database
    from shared.migrations import upgrade
    from shared.service import database_url_for
    from wharf.services import service_module

    module = service_module(name)
    url = database_url_for(name, module.SPEC.settings_class(), platform)
    asyncio.run(ensure_database(url))
    upgrade(module.SPEC.migrations_dir, url)
    print(f"{name}: migrations applied")
    return 0


async def dead_letters(action: str, service: str, message_id: str | None, platform: PlatformSettings) -> int:
    from shared.events.rabbitmq import RabbitMQTransport

    if not platform.amqp_url:
        print("Dead letters live in RabbitMQ: set WHARF_AMQP_URL (the in-memory bus keeps them in the running process only).", file=sys.stderr)
        return 2
    transport = RabbitMQTransport(
        platform.amqp_url, exchange=platform.amqp_exchange, queue_prefix=platform.amqp_queue_prefix
    )
    await transport.start()
    try:
        if action == "list":
            for letter in await transport.list_dead_letters(service):
                print(
                    json.dumps(
                        {
                            "event": letter.body,
                            "error": letter.error,
                            "attempts": letter.attempts,
                            "dead_lettered_at": letter.dead_lettered_at.isoformat(),
                        }
                    )
                )
        else:
            count = await transport.replay_dead_letters(service, message_id)
            print(f"{service}: {count} dead letter(s) moved back to the queue")
    finally:
        await transport.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
