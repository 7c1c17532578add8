"""Profiles: the shipped ones load, an unknown name lists the valid ones, bad fields are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.errors import InvalidInput
from controlplane.load.profiles import PROFILES_FILE, load_profile, load_profiles


def test_shipped_profiles_point_at_files_that_exist() -> None:
    profiles = load_profiles()
    assert {"smoke", "open-orders", "retail", "ramp", "soak", "spike", "market-open",
            "stress"} <= set(profiles)
    for p in profiles.values():
        for path in p.paths():
            assert path.is_file(), f"{p.name}: {path}"


def test_unknown_profile_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_profile("smoek")
    assert "valid profiles: " in str(caught.value) and "smoke" in str(caught.value)
    assert caught.value.source == str(PROFILES_FILE)


def test_a_bad_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  x: {locustfiles: [a.py], users: -1, duration_s: 5}\n")
    with pytest.raises(InvalidInput) as caught:
        load_profiles(path)
    assert caught.value.field == "profiles.x.users" and caught.value.source == str(path)


def test_auto_mode_goes_distributed_for_many_users(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  small: {locustfiles: [a.py], users: 10, duration_s: 5}\n"
                    "  big: {locustfiles: [a.py], users: 5000, duration_s: 5}\n")
    profiles = load_profiles(path)
    assert profiles["small"].resolved_mode() == "local"
    assert profiles["big"].resolved_mode() == "distributed"
