"""The ward of 16 rooms: layouts that keep the alarm list (and every alarming
tile) on screen on a 1920x1080 wall, a 1280x720 laptop and a 768x1024
tablet; trends filled from the stored readings on load; and the check at
3 m: the wall's screenshot downsized to 240 px wide still shows which tiles
alarm, by colour alone."""

from __future__ import annotations

import colorsys
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from tests.browser.nurses_ward import sending
from tests.support import Api, ServerProcess, Shot, SignIn, now_utc, samples

pytestmark = pytest.mark.browser

HIGH = {2, 9, 13}  # SpO2 84 % for 20 s
MEDIUM = {5, 11}  # HR 130 /min for 20 s
NO_MONITOR = {7}  # started without a monitor
VIEWPORTS = [(1920, 1080), (1280, 720), (768, 1024)]


@pytest.fixture(scope="module")
async def ward(server: ServerProcess) -> AsyncIterator[list[dict[str, Any]]]:
    """16 rooms, each with 5 min of stored readings; some in alarm."""
    api = Api(server.url)
    sessions = []
    monitors = []
    t0 = now_utc() - timedelta(minutes=5)
    try:
        for i in range(16):
            if i in NO_MONITOR:
                sessions.append(await api.session([], room=f"Bed {i + 1:02d}"))
                continue
            device = await api.device()
            session = await api.session([device["id"]], room=f"Bed {i + 1:02d}")
            normal = {"hr": 72 + i, "spo2": 97, "rr": 14, "sbp": 122, "dbp": 78}
            r = await api.post(device["token"], samples(t0, 280, **normal))
            assert r.status_code == 202, r.text
            late = dict(normal)
            if i in HIGH:
                late.update(spo2=84)
            if i in MEDIUM:
                late.update(hr=130)
            start = t0 + timedelta(seconds=280)
            r = await api.post(device["token"], samples(start, 20, seq0=280, **late))
            assert r.status_code == 202, r.text
            sessions.append(session)
            monitors.append((device["token"], late))
        async with sending(api, monitors):
            yield sessions
    finally:
        await api.aclose()


def _inside(box: dict[str, float] | None, width: int, height: int) -> bool:
    assert box is not None
    return (
        box["x"] >= -1
        and box["y"] >= -1
        and box["x"] + box["width"] <= width + 1
        and box["y"] + box["height"] <= height + 1
    )


async def _open_ward(sign_in: SignIn, url: str, width: int, height: int) -> Page:
    page = await sign_in(url, width, height)
    await expect(page.locator(".tile")).to_have_count(16)
    await expect(page.locator(".tile[data-alarm='high']")).to_have_count(len(HIGH))
    await expect(page.locator(".tile[data-alarm='medium']")).to_have_count(len(MEDIUM))
    return page


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
async def test_alarm_list_and_alarming_tiles_stay_on_screen(
    sign_in: SignIn,
    server: ServerProcess,
    ward: list[dict[str, Any]],
    shot: Shot,
    width: int,
    height: int,
) -> None:
    page = await _open_ward(sign_in, server.url, width, height)
    alarms = page.get_by_test_id("alarm-list")
    await expect(alarms.locator("li")).to_have_count(len(HIGH) + len(MEDIUM))
    aside = await page.locator("aside.alarms").bounding_box()
    assert _inside(aside, width, height), aside
    first = await alarms.locator("li").first.bounding_box()
    assert _inside(first, width, height), first
    for tile in await page.locator(".tile:not([data-alarm='none']), .tile[data-nomonitor]").all():
        assert _inside(await tile.bounding_box(), width, height), await tile.get_attribute(
            "data-testid"
        )
    # every room fits: no scrolling needed to see the ward
    assert await page.locator("#tiles").get_attribute("data-fits") == "true"
    # and every value is whole in its box, every tile's foot inside the tile
    for tile in await page.locator(".tile").all():
        box = await tile.bounding_box()
        assert box is not None
        for value in await tile.locator(".vital .value").all():
            assert await value.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), (
                await value.evaluate("el => [el.textContent, el.scrollWidth, el.clientWidth]")
            )
        foot = await tile.locator(".t-foot").bounding_box()
        assert foot is not None
        assert foot["y"] + foot["height"] <= box["y"] + box["height"] + 1, (foot, box)
    await expect(page.get_by_test_id("offscreen-alarms")).to_be_hidden()
    await shot(page, f"station-{width}x{height}.png")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_tile_trends_are_filled_from_stored_readings_on_load(
    sign_in: SignIn, server: ServerProcess, ward: list[dict[str, Any]]
) -> None:
    page = await _open_ward(sign_in, server.url, 1920, 1080)
    monitored = [s["id"] for i, s in enumerate(ward) if i not in NO_MONITOR]
    counts = await page.wait_for_function(
        """(ids) => { const t = window.vitalwatch.trends;
                      const c = ids.map((id) => t.count(id));
                      return c.every((n) => n > 100) && c; }""",
        arg=monitored,
    )
    assert all(n > 100 for n in await counts.json_value())  # 5 min of 1-s readings


def _tint(rgb: tuple[int, int, int]) -> str | None:
    """The alarm colour a pixel shows from across the room, if any."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if s < 0.55 or v < 0.22:
        return None
    hue = h * 360
    if hue < 12 or hue > 345:
        return "red"
    if 38 <= hue <= 62:
        return "yellow"
    if 178 <= hue <= 200:
        return "cyan"
    return None


def _seen_from_afar(png: bytes, boxes: list[dict[str, float]], width: int) -> list[str]:
    """Each tile's colour in the screenshot downsized to 240 px wide."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    scale = 240 / image.width
    small = image.resize((240, round(image.height * scale)), Image.Resampling.BOX)
    seen = []
    for box in boxes:
        left, top = int(box["x"] * scale) + 1, int(box["y"] * scale) + 1
        right, bottom = (
            int((box["x"] + box["width"]) * scale) - 1,
            int((box["y"] + box["height"]) * scale) - 1,
        )
        pixels = [small.getpixel((x, y)) for x in range(left, right) for y in range(top, bottom)]
        counts: dict[str, int] = {}
        for p in pixels:
            tint = _tint(p)  # type: ignore[arg-type]
            if tint:
                counts[tint] = counts.get(tint, 0) + 1
        best = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
        seen.append(best[0] if best[0] and best[1] > 0.25 * len(pixels) else "none")
    return seen


async def test_alarming_tiles_are_found_by_colour_alone_at_3_m(
    sign_in: SignIn, server: ServerProcess, ward: list[dict[str, Any]], shot: Shot
) -> None:
    page = await _open_ward(sign_in, server.url, 1920, 1080)
    tiles = page.locator(".tile")
    ids = [await t.get_attribute("data-session") for t in await tiles.all()]
    boxes = [b for b in [await t.bounding_box() for t in await tiles.all()] if b]
    expected = []
    for sid in ids:
        i = next(i for i, s in enumerate(ward) if str(s["id"]) == sid)
        expected.append(
            "red"
            if i in HIGH
            else "yellow"
            if i in MEDIUM
            else "cyan"
            if i in NO_MONITOR
            else "none"
        )
    # several moments: both phases of every flash must read from afar
    for n in range(5):
        png = await page.screenshot()
        assert _seen_from_afar(png, boxes, 1920) == expected, f"shot {n}"
        await page.wait_for_timeout(230)
    if shot:
        path = await shot(page, "station-wall-3m.png")
        image = Image.open(path)
        small = image.resize((240, round(image.height * 240 / image.width)), Image.Resampling.BOX)
        small.save(path)
