"""report.html: what report.json holds, for a support engineer to read on a phone or a
desk. Plots by matplotlib (Agg, SVG inline: the page works offline and prints; text stays
text, so it can be searched and read at any width); every section of the JSON shown."""

from __future__ import annotations

import html
import io

import matplotlib

from .report import _limit, _value

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "camdiag", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})

BLUE, ORANGE, GREY = "#1565c0", "#e65100", "#555555"
OUTCOME_COLOR = {"pass": "#2e7d32", "warn": "#f9a825", "fail": "#c62828", "error": "#c62828"}
PASS_BAND, FAIL_BAND = "#e8f5e9", "#fdecea"

CHECKS = {
    "i2s_capture": "I2S capture", "mic_data": "Mic data", "slot": "Mic slot",
    "dc_offset": "DC offset", "speaker_to_mic": "Speaker to mic",
    "tone_levels": "Tone levels", "noise": "Noise", "dropouts": "Dropouts",
    "latency": "Latency", "distortion": "Distortion", "response": "Frequency response",
    "wifi_link": "Wi-Fi link", "wifi_signal": "Wi-Fi signal",
    "wifi_stability": "Wi-Fi stability", "wifi_power_save": "Wi-Fi power save",
    "wifi_channel": "Wi-Fi channel", "net_upload": "Upload", "net_loss": "Packet loss",
    "net_rtt": "Round trip", "net_jitter": "Jitter",
}
MEASUREMENTS = {
    "silent_slot_ratio": "silent slot / live slot", "dc": "DC offset",
    "ref_tone_level": "reference tone level", "tone_above_bin_noise": "tone above the noise",
    "snr": "signal to noise", "noise_floor": "noise floor",
    "burst_spacing_error": "burst spacing error", "bursts_missing": "bursts missing",
    "phase_error": "phase error", "envelope_min": "quietest part of a tone",
    "confidence": "timing confidence", "thd": "distortion (THD)",
    "clipped_samples": "clipped samples", "high_minus_ref": "high band against 1 kHz",
    "low_minus_ref": "low band against 1 kHz", "rssi_mean": "mean signal",
    "rssi_stdev": "signal spread", "drops_in_window": "link drops in the window",
    "congestion": "congestion on its channel", "rtt_mean": "mean round trip",
    "rtt_max": "worst round trip",
}


def check_label(name: str) -> str:
    return CHECKS.get(name) or name.replace("_", " ").capitalize()


def measurement_label(check: str, name: str) -> str:
    m = MEASUREMENTS.get(name) or name.replace("_", " ")
    return f"{check_label(check)}: {m}"


def _svg(fig, title: str, max_px: int = 720) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    a, b = svg.find("<metadata>"), svg.find("</metadata>")
    if 0 <= a < b:  # (matplotlib's RDF credits: four namespaces and a link, no picture)
        svg = svg[:a] + svg[b + len("</metadata>"):]
    head, rest = svg.split(">", 1)
    # scale to the page's width (phones): the viewBox keeps the proportions
    head = " ".join(p for p in head.split(" ") if not p.startswith(("width=", "height=")))
    return (f'{head} role="img" aria-label="{html.escape(title)}" '
            f'style="width:100%;height:auto;max-width:{max_px}px">{rest}')


def _note(text: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 0.6))
    ax.axis("off")
    ax.text(0.0, 0.5, text, va="center")
    return _svg(fig, title)


def plot_spectrum(sp: dict, tones=(500, 1031, 3150)) -> str:
    hz, db = sp.get("hz") or [], sp.get("dbfs") or []
    if not hz:
        return _note("no recording (the I2S bus failed)", "spectrum")
    pts = [(f, d) for f, d in zip(hz, db, strict=True) if f >= 50]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.semilogx([p[0] for p in pts], [max(-120.0, p[1]) for p in pts], color=BLUE, lw=1.8)
    for t in tones:
        ax.axvline(t, color=ORANGE, ls="--", lw=2)
        ax.text(t * 1.04, -8, f"{t} Hz", color=ORANGE)
    ax.set_xlim(50, sp["rate"] / 2)
    ticks = [t for t in (50, 100, 200, 500, 1000, 2000, 5000) if t < sp["rate"] / 2]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(-120, 0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("level (dBFS)")
    ax.set_title("Spectrum of the loopback recording, test tones marked", loc="left")
    ax.grid(True, which="both", color="#eee", lw=0.6)
    return _svg(fig, "spectrum of the loopback recording")


def limited_measurements(rec: dict | None) -> list[tuple]:
    """(label, value, unit, limit, outcome) of every numeric measurement with a limit."""
    rows = []
    for c in (rec or {}).get("checks", []):
        for m in c["measurements"]:
            v = m["value"]
            if m.get("limit") and isinstance(v, (int, float)) and not isinstance(v, bool):
                rows.append((measurement_label(c["name"], m["name"]), float(v), m["unit"],
                             m["limit"], c["outcome"]))
    return rows


def plot_levels(rows: list[tuple], title: str) -> str:
    """One scale per measurement, in its own unit: the pass side of its limit green, the
    fail side red, the value a dot coloured by its check's outcome, so the margin shows."""
    if not rows:
        return _note("no measurement with a limit", title)
    # (narrow, so that on a phone's width its labels shrink little)
    fig, axes = plt.subplots(len(rows), 1, figsize=(4.6, 0.62 * len(rows) + 0.5),
                             squeeze=False)
    for ax, (label, v, unit, lim, outcome) in zip(axes[:, 0], rows, strict=True):
        ends = [v] + [float(x) for x in lim.values()]
        lo, hi = min(ends), max(ends)
        span = (hi - lo) or max(abs(hi), 1.0)
        lo, hi = lo - 0.25 * span, hi + 0.25 * span
        ax.axvspan(lo, hi, color=PASS_BAND, lw=0)
        if "min" in lim:
            ax.axvspan(lo, float(lim["min"]), color=FAIL_BAND, lw=0)
        if "max" in lim:
            ax.axvspan(float(lim["max"]), hi, color=FAIL_BAND, lw=0)
        for kind, val in lim.items():
            ax.axvline(float(val), color=GREY, lw=1.5)
            ax.annotate(f"{kind} {val:g}", (float(val), 0), xytext=(3, -9),
                        textcoords="offset points", color=GREY, fontsize=7)
        ax.plot([v], [0], "o", ms=8, color=OUTCOME_COLOR.get(outcome, GREY))
        ax.annotate(f"{v + 0.0:g} {unit}", (v, 0), xytext=(7, 3), textcoords="offset points",
                    fontsize=8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="x", labelsize=7, length=2)
        ax.set_title(f"{label} ({unit})" if unit else label, loc="left", fontsize=8,
                     pad=2)
    fig.suptitle(title, x=0.0, ha="left", fontsize=9)
    fig.tight_layout(h_pad=0.4)
    return _svg(fig, title, max_px=620)


def plot_history(h: dict | None, warn: float = -67, fail: float = -75) -> str:
    vals = (h or {}).get("values") or []
    if not vals:
        return _note("no RSSI history (Wi-Fi not set up, or the application was not "
                     "running)", "RSSI history")
    period = h["period_s"]
    n = len(vals)
    unit, scale = ("min", 60.0) if n * period >= 120 else ("s", 1.0)
    t = [-(n - 1 - i) * period / scale for i in range(n)]
    fig, ax = plt.subplots(figsize=(7, 2.4))
    seg_t, seg_v = [], []
    for ti, v in zip(t, vals, strict=True):
        if v is None:
            ax.axvspan(ti - period / scale / 2, ti + period / scale / 2, color="#ef9a9a",
                       lw=0)
            if seg_t:
                ax.plot(seg_t, seg_v, color=BLUE, lw=1.8, marker="." if len(seg_t) == 1
                        else None)
            seg_t, seg_v = [], []
        else:
            seg_t.append(ti)
            seg_v.append(v)
    if seg_t:
        ax.plot(seg_t, seg_v, color=BLUE, lw=1.8, marker="." if len(seg_t) < 3 else None)
    ax.axhline(warn, color=OUTCOME_COLOR["warn"], ls="--", lw=1)
    ax.axhline(fail, color=OUTCOME_COLOR["fail"], ls="--", lw=1)
    ax.text(t[0], warn + 1, f"warn {warn:g} dBm", fontsize=7)
    ax.text(t[0], fail + 1, f"fail {fail:g} dBm", fontsize=7)
    ax.set_ylim(-100, -30)
    ax.set_xlim(min(t[0], -period / scale), 0)
    ax.set_xlabel(f"{unit} ago (one value every {period} s; red: link down)")
    ax.set_ylabel("signal (dBm)")
    ax.set_title("Wi-Fi signal history (RSSI)", loc="left")
    ax.grid(True, color="#eee", lw=0.6)
    return _svg(fig, "RSSI history")


# -- tables ------------------------------------------------------------------------------
def esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _table(head: list[str], rows: list[list], empty: str = "nothing") -> str:
    if not rows:
        return f"<p class=dim>{esc(empty)}</p>"
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<div class=scroll><table><tr>{th}</tr>{body}</table></div>"


def _pairs(items: list[tuple[str, object]]) -> str:
    rows = [[esc(k), esc(v)] for k, v in items if v is not None and v is not False]
    return _table(["", ""], rows)


def measurements_table(rec: dict | None) -> str:
    rows = []
    for c in (rec or {}).get("checks", []):
        color = OUTCOME_COLOR.get(c["outcome"], GREY)
        for m in c["measurements"]:
            shown = _value(m).removeprefix(m["name"]).strip()  # (as the terminal shows it)
            rows.append([esc(measurement_label(c["name"], m["name"])), esc(shown),
                         esc(_limit(m)),
                         f'<span style="color:{color}">{esc(c["outcome"])}</span>'])
        if not c["measurements"]:
            rows.append([esc(check_label(c["name"])), esc(c.get("note", "")), "",
                         f'<span style="color:{color}">{esc(c["outcome"])}</span>'])
    return _table(["measurement", "value", "limit", "result"], rows, "not run")


def _device(dev: dict) -> str:
    flash = dev.get("flash") or {}
    heap = None
    if dev.get("mem_free") is not None:
        heap = f"{dev['mem_free']} bytes free, {dev.get('mem_alloc')} in use"
    fl = None
    if flash:
        fl = f"{flash.get('free_kb')} KB free of {flash.get('total_kb')} KB"
    return _pairs([("camera (unique id)", dev.get("unique_id")), ("board", dev.get("board")),
                   ("platform", dev.get("platform")), ("MicroPython", dev.get("micropython")),
                   ("camdiag", dev.get("camdiag")), ("reset cause", dev.get("reset_cause")),
                   ("uptime", f"{dev.get('uptime_s')} s"), ("heap", heap),
                   ("flash", fl), ("problems", "; ".join(dev.get("problems") or []) or
                                   "none")])


def _scan(rec: dict | None) -> str:
    s = (rec or {}).get("scan")
    if not s:
        return "<p class=dim>not run (Wi-Fi not set up)</p>"
    own = (s.get("own") or {}).get("bssid")
    aps = [[esc(a.get("ssid") or "(hidden)") + (" <b>(this camera's)</b>"
                                               if a.get("bssid") == own else ""),
            esc(a.get("channel")), esc(f"{a.get('rssi')} dBm"), esc(a.get("auth"))]
           for a in s.get("aps", [])]
    scores = ", ".join(f"channel {k}: {v:g}" for k, v in (s.get("scores") or {}).items())
    return (_pairs([("networks seen", s.get("count")),
                    ("congestion on this camera's channel", s.get("congestion")),
                    ("congested", "yes" if s.get("congested") else "no"),
                    ("congestion by channel (1, 6, 11)", scores),
                    ("suggested channel", s.get("suggested_channel")),
                    ("other access points of this network", len(s.get("same_ssid") or []))])
            + _table(["network", "channel", "signal", "security"], aps, "no networks"))


def render_html(r: dict) -> str:
    dev = r["device"]
    color = OUTCOME_COLOR.get(r["outcome"], GREY)
    st = r["selftest"]
    findings = [[esc(f["source"]), esc(check_label(f["check"])),
                 f'<span style="color:{OUTCOME_COLOR.get(f["outcome"], GREY)}">'
                 f'{esc(f["outcome"])}</span>', esc(f["fix"])] for f in r["findings"]]
    log = [[esc(x.get("time")), esc(x.get("kind")), esc(x.get("outcome")),
            esc(x.get("summary") or x.get("verdict") or "")] for x in r["log"]]
    wifi = (r.get("wifi") or {}).get("wifi") or {}
    net = (r.get("netcheck") or {}).get("net") or {}
    hist = r.get("rssi_history") or {}
    link = hist.get("link") or {}
    limits = {"warn": -67, "fail": -75}
    for m in next((c["measurements"] for c in (r.get("wifi") or {}).get("checks", [])
                   if c["name"] == "wifi_signal"), []):
        if m["name"] == "rssi_mean" and (m.get("limit") or {}).get("min") is not None:
            limits["fail"] = m["limit"]["min"]
    # (the self-test's own 1 s Wi-Fi part is in the Wi-Fi window's rows when there is one)
    own = [x for x in limited_measurements(st)
           if not (r.get("wifi") and x[0].startswith("Wi-Fi"))]
    rows = own + limited_measurements(r.get("wifi")) + \
        limited_measurements(r.get("netcheck")) + limited_measurements(r.get("scan"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>camdiag report {esc(dev['unique_id'])}</title>
<style>body{{font-family:sans-serif;max-width:760px;margin:1em auto;padding:0 10px;
color:#222}} h2{{font-size:17px;margin-top:1.4em}} .scroll{{overflow-x:auto}}
td,th{{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;font-size:13px;
vertical-align:top}} table{{border-collapse:collapse;width:100%}} .dim{{color:#777}}
.verdict{{font-size:20px;color:{color}}}</style></head><body>
<h1>camdiag support report</h1>
<p>Camera {esc(dev['unique_id'])}, board {esc(dev['board'])}, {esc(r['created'])}</p>
<p class="verdict">Verdict: {esc(r['outcome'].upper())} - {esc(r['verdict'])}</p>
<p><b>Fix to try first:</b> {esc(r['fix'] or 'nothing to fix')}</p>
<h2>Findings, cheapest fix first</h2>
{_table(["test", "check", "result", "fix"], findings, "no findings")}
<h2>Every level against its limits</h2>
{plot_levels(rows, "Each level on its own scale: green passes, red fails")}
<h2>Loopback self-test</h2>
{plot_spectrum(r['spectrum'])}
{_pairs([("verdict", st.get("verdict")), ("diagnosis", st.get("diagnosis")),
         ("acoustic latency", st.get("latency_ms") and f"{st['latency_ms']} ms"),
         ("DMA latency", st.get("dma_latency_ms") and f"{st['dma_latency_ms']} ms"),
         ("I2S start skew", st.get("i2s_start_skew_ms") is not None
          and f"{st['i2s_start_skew_ms']} ms"),
         ("test plan", st.get("plan") and
          f"{st['plan'].get('rate')} Hz, tones "
          f"{', '.join(str(t) for t in st['plan'].get('tones_hz', []))} Hz, "
          f"{st['plan'].get('bursts')} bursts, {st['plan'].get('audio_ms')} ms of audio"),
         ("kernels", st.get("kernels")), ("run by", st.get("trigger")),
         ("run at", st.get("time"))])}
{measurements_table(st)}
<h2>Wi-Fi signal</h2>
{plot_history(r.get('rssi_history'), limits["warn"], limits["fail"])}
{_pairs([("network", wifi.get("ssid")), ("link", wifi.get("status_text")),
         ("mean signal", wifi.get("rssi_mean") is not None and
          f"{wifi['rssi_mean']} dBm ({wifi.get('quality')}, {wifi.get('bars')} of 4 bars, "
          f"{wifi.get('percent')} %)"),
         ("range", wifi.get("rssi_min") is not None and
          f"{wifi['rssi_min']} to {wifi['rssi_max']} dBm, spread {wifi.get('rssi_stdev')} dB"),
         ("window", wifi.get("window_s") and
          f"{wifi['window_s']:g} s, {wifi.get('samples')} readings, "
          f"{wifi.get('lost_samples')} without a link"),
         ("reconnects", link.get("reconnects", wifi.get("reconnects"))),
         ("time connected", link.get("uptime_connected_s") is not None
          and f"{link['uptime_connected_s']} s, down {link.get('downtime_s')} s"),
         ("last disconnect", wifi.get("last_reason_text") or link.get("down_reason"))])
  if wifi else "<p class=dim>not run (Wi-Fi not set up)</p>"}
{measurements_table(r.get('wifi')) if r.get('wifi') else ''}
<h2>Wi-Fi channels and neighbours</h2>
{_scan(r.get('scan'))}
<h2>Talk path</h2>
{_pairs([("server", net.get("server")),
         ("upload", net.get("upload_mbps") is not None and f"{net['upload_mbps']} Mbit/s"),
         ("round trip", net.get("rtt_mean_ms") is not None and
          f"{net['rtt_mean_ms']} ms mean, {net.get('rtt_max_ms')} ms worst"),
         ("jitter", net.get("jitter_ms") is not None and f"{net['jitter_ms']} ms"),
         ("loss", net.get("loss_pct") is not None and f"{net['loss_pct']} %")])
  if net else "<p class=dim>not run (no --server)</p>"}
{measurements_table(r.get('netcheck')) if r.get('netcheck') else ''}
<h2>Device</h2>
{_device(dev)}
<h2>Results log (last {len(r['log'])})</h2>
{_table(["time", "test", "result", "summary"], log, "empty")}
<p class=dim>camdiag {esc(r.get('camdiag_host'))} on the host, port {esc(r.get('port'))};
report.json beside this page holds all of it.</p>
</body></html>
"""
