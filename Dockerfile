# VitalWatch service image: multi-stage, non-root, with a health check.
#   docker build -t vitalwatch .
#   docker run -p 8000:8000 -e VITALWATCH_SECRET_KEY=... -e VITALWATCH_DATABASE_URL=... vitalwatch

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/vitalwatch
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY simulators ./simulators
COPY alembic ./alembic
RUN /opt/vitalwatch/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/vitalwatch/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
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
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
CMD ["vitalwatch", "serve"]
