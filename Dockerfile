# The production image: web (gunicorn), worker and beat (Celery) all run it; docker-compose.yml says which.
FROM python:3.11-slim

# PYTHONPATH: the code runs from /app, where templates, translations and data files sit beside it (the
# celery command does not put the working directory on the path, gunicorn does).
# WEB_CONCURRENCY: gunicorn's worker processes; .env may override it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    WEB_CONCURRENCY=2

WORKDIR /app

# Dependencies first, in a layer of their own: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps .

# Static files and translations are built into the image. The settings refuse to load without production
# keys when DEBUG is off, so this step gets throw-away ones that live only inside this RUN.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && export DEBUG=false ENV_FILE= ALLOWED_HOSTS=localhost \
        SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        ID_HASH_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        ID_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    && if find . -name '*.po' | grep -q .; then python manage.py compilemessages; fi \
    && python manage.py collectstatic --noinput \
    && apt-get purge -y --auto-remove gettext \
    && rm -rf /var/lib/apt/lists/*

# Never run as root: the app writes only uploaded files (MEDIA_ROOT, a volume in docker-compose.yml).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home mutualaid \
    && mkdir -p /app/media \
    && chown mutualaid:mutualaid /app/media
USER mutualaid

EXPOSE 8000
CMD ["gunicorn", "mutualaid.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60"]
