# supportsite: the help centre served by Daphne. Needs DATABASE_URL (PostgreSQL with pgvector)
# and SECRET_KEY; docker-compose.yml supplies both.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000

WORKDIR /app

# Dependencies first, so code changes do not reinstall them (psycopg[binary] needs no compiler).
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgresql://build@localhost/build \
    python manage.py collectstatic --noinput --verbosity 0

# Never run as root inside the container.
RUN useradd --create-home --uid 10001 supportsite && mkdir -p /app/.data && chown supportsite /app/.data
USER supportsite

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

# Migrations, then Daphne (the README's production command).
CMD ["sh", "-c", "python manage.py serve --host 0.0.0.0 --port ${PORT}"]
