"""The SCIM reference server `scim2-server` (PyPI), as bench/scim runs it: its in-memory
storage loaded in-process with the users of an NDJSON file (bench/run's generator), each
through the server's own POST /v2/Users, then served over HTTP like `scim2-server` serves.

Usage: scim_reference.py USERS.ndjson PORT TOKEN SAMPLE.json
Writes a sample of the ids it made to SAMPLE.json, then prints "ready" and serves.
"""

import io
import json
import random
import secrets
import sys
from wsgiref.simple_server import make_server
from wsgiref.util import setup_testing_defaults

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (load_default_resource_types, load_default_schemas,
                                load_default_service_provider_config)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def main():
    users_file, port, token, sample_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    provider = ScimProvider.from_discovery(load_default_schemas().values(),
                                           load_default_resource_types().values(),
                                           config=load_default_service_provider_config())
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    app = BearerTokenApplication(InMemoryStorage(), provider, service=service, bearer_tokens=[token])

    def post(body):
        data = json.dumps(body).encode()
        environ = {}
        setup_testing_defaults(environ)
        environ.update({"REQUEST_METHOD": "POST", "PATH_INFO": "/v2/Users",
                        "CONTENT_TYPE": "application/scim+json", "CONTENT_LENGTH": str(len(data)),
                        "wsgi.input": io.BytesIO(data), "HTTP_AUTHORIZATION": f"Bearer {token}"})
        status = []
        out = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("201"):
            raise SystemExit(f"scim2-server refused a user: {status[0]} {out[:300]!r}")
        return json.loads(out)["id"]

    ids = []
    with open(users_file) as lines:
        for line in lines:
            user = json.loads(line)
            ids.append(post({
                "schemas": [USER], "userName": user["email"], "externalId": user["external_id"],
                "displayName": user["name"], "active": user["status"] == "active",
                "name": {"givenName": user["given_name"], "familyName": user["family_name"]},
                "emails": [{"value": user["email"], "type": "work", "primary": True}],
            }))
    with open(sample_file, "w") as out:
        json.dump({"ids": random.Random(7).sample(ids, min(len(ids), 10_000))}, out)
    with make_server("127.0.0.1", port, app, server_class=ThreadingWSGIServer) as server:
        print("ready", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
