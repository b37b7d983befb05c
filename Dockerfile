# VitalWatch service image: multi-stage, non-root, with a health check.
#   docker build -t vitalwatch .
#   docker run -p 8000:8000 -e VITALWATCH_SECRET_KEY=... -e VITALWATCH_DATABASE_URL=... vitalwatch
#
# BASE: any Debian bookworm image with python3 (3.11) and its venv module: the
# official Python image by default; CI builds on a base made from Debian's own
# packages (python3, python3-venv), see .ci/image. Behind a TLS-inspecting
# proxy, hand pip the proxy's CA bundle:
#   --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /src
RUN python3 -m venv /opt/vitalwatch
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY simulators ./simulators
COPY alembic ./alembic
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
 && /opt/vitalwatch/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/vitalwatch/bin/vitalwatch --help >/dev/null

FROM ${BASE}
RUN groupadd --system vitalwatch && useradd --system --gid vitalwatch --home /var/lib/vitalwatch \
      --create-home vitalwatch
COPY --from=build /opt/vitalwatch /opt/vitalwatch
ENV PATH=/opt/vitalwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VITALWATCH_ENVIRONMENT=production \
    VITALWATCH_HOST=0.0.0.0 \
    VITALWATCH_PORT=8000 \
    VITALWATCH_DATABASE_URL=sqlite+aiosqlite:////var/lib/vitalwatch/vitalwatch.db
USER vitalwatch
WORKDIR /var/lib/vitalwatch
VOLUME ["/var/lib/vitalwatch"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, sys, urllib.request as u; p = os.environ.get('VITALWATCH_PORT', '8000'); sys.exit(u.urlopen(f'http://127.0.0.1:{p}/readyz', timeout=2).status != 200)"
CMD ["vitalwatch", "serve"]
