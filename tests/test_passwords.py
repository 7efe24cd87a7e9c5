"""Local passwords: Argon2id with OWASP's minimum in production, PBKDF2 hashes upgraded at sign-in,
and hashing bounded per process so that a burst of sign-ins queues (p2cwizard/passwords.py).

The rest of the suite hashes with a fast hasher (conftest.py); these tests put the production list
back."""

import threading
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher, make_password
from django.urls import reverse
from django.utils.module_loading import import_string

import p2cwizard.settings as production
from p2cwizard.passwords import BoundedPBKDF2Hasher

from .conftest import PASSWORD

# OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB of memory, 2 iterations, parallelism 1.
OWASP_ARGON2ID = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_it_hashes_new_passwords_with_argon2id_at_owasps_minimum(production_hashers):
    first = import_string(production.PASSWORD_HASHERS[0])()
    assert (first.algorithm, first.memory_cost, first.time_cost, first.parallelism) == ("argon2", 19456, 2, 1)
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith(OWASP_ARGON2ID)
    assert check_password("correct horse battery staple", encoded)
    assert not check_password("wrong horse", encoded)


def test_it_upgrades_a_pbkdf2_hash_when_its_user_signs_in(production_hashers, client, consultant):
    consultant.password = BoundedPBKDF2Hasher().encode(PASSWORD, "saltsaltsalt", iterations=1000)
    consultant.save()
    assert identify_hasher(consultant.password).algorithm == "pbkdf2_sha256"

    response = client.post(reverse("login"), {"username": consultant.username, "password": PASSWORD})

    assert response.status_code == 302
    consultant.refresh_from_db()
    assert consultant.password.startswith(OWASP_ARGON2ID)
    client.logout()
    again = client.post(reverse("login"), {"username": consultant.username, "password": PASSWORD})
    assert again.status_code == 302


def test_it_keeps_a_pbkdf2_hash_on_a_wrong_password(production_hashers, client, consultant):
    consultant.password = BoundedPBKDF2Hasher().encode(PASSWORD, "saltsaltsalt", iterations=1000)
    consultant.save()
    before = consultant.password
    response = client.post(reverse("login"), {"username": consultant.username, "password": "not it"})
    assert response.status_code == 200  # the form again, with its error
    consultant.refresh_from_db()
    assert consultant.password == before


def test_it_checks_one_password_at_a_time_per_process_so_a_burst_queues(production_hashers, monkeypatch):
    encoded = make_password("correct horse battery staple")
    inside, most, lock = [0], [0], threading.Lock()
    verify = Argon2PasswordHasher.verify

    def counted(self, password, encoded):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.02)  # long enough for the others to arrive, were they let in
            return verify(self, password, encoded)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted)
    results = []

    def sign_in() -> None:
        results.append(check_password("correct horse battery staple", encoded))

    burst = [threading.Thread(target=sign_in) for _ in range(6)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join()

    assert results == [True] * 6  # every one answered, in turn
    assert most[0] == 1
