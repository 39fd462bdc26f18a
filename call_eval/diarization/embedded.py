"""Offline mono diarization: speech activity → speaker windows → clustering → smoothing.

1. Speech: Silero VAD (or the caller's ``vad_segments``), short pauses bridged.
2. Windows of ``length_s`` (hop ``hop_s``) inside each speech region, each described in
   three *views*: a pretrained speaker-encoder embedding (resemblyzer, shipped in its
   wheel), MFCC statistics, and an upper percentile of log F0. Each view becomes a
   nearest-neighbour graph over the windows.
3. Consensus clustering: who speaks is the structure the views share, while phonetic
   content or intonation shows in one view only. Each view proposes a partition; the one
   best backed by another view is refined by re-weighting the views according to how
   well they support it (modularity) and cutting the weighted graph again (spectral
   clustering). So the encoder leads on real voices, F0 and MFCCs on close synthetic
   ones, without a fixed mix. ``num_speakers=None``: a split is kept only when two views
   back it (1..max_speakers).
4. Resegmentation: per-speaker diagonal GMMs on frame MFCCs and a log-F0 Gaussian,
   combined with the window evidence, decoded per speech region by Viterbi with a
   speaker-change penalty.
5. Smoothing: runs shorter than ``min_turn_s`` inside a region join their neighbours;
   same-speaker pauses up to ``fill_gap_s`` are filled, never over another speaker's speech.
   Turns do not overlap (one speaker per frame): overlapped speech is given to one of the
   two speakers, and windows that straddle a change carry little weight in the graphs.
Labels are ``SPEAKER_00``, ``SPEAKER_01``... in order of first appearance.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..types import Audio, Diarization
from . import features as feat
from .intervals import (
    drop_short,
    fill_gaps,
    hysteresis,
    mask_from_intervals,
    order_by_first_appearance,
    runs,
    turns_from_masks,
    widen,
)
from .vad import n_frames, silero_probabilities

log = logging.getLogger(__name__)

BACKEND = "embedded"


def speaker_name(k: int) -> str:
    return f"SPEAKER_{k:02d}"


# --------------------------------------------------------------------------- speech
def speech_mask(
    x: np.ndarray,
    sample_rate: int,
    cfg: dict[str, Any],
    vad_segments: Sequence[tuple[float, float]] | None,
) -> tuple[np.ndarray, str]:
    frame_s = float(cfg["frame_s"])
    vcfg = cfg["embedded"]["vad"]
    n = n_frames(x.shape[0], sample_rate, frame_s)
    if vad_segments is not None:
        mask, source = mask_from_intervals(vad_segments, n, frame_s), "caller"
    else:
        probs = silero_probabilities(x, sample_rate, frame_s)
        mask = hysteresis(probs, float(cfg["silero"]["onset"]), float(cfg["silero"]["offset"]))
        source = "silero"
    mask = drop_short(mask, int(round(float(vcfg["min_speech_s"]) / frame_s)))
    mask = fill_gaps(mask, int(round(float(vcfg["min_silence_s"]) / frame_s)))
    mask = widen(mask, int(round(float(vcfg["pad_s"]) / frame_s)))
    return mask, source


def make_windows(
    regions: list[tuple[int, int]], length: int, hop: int, min_length: int
) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` covering every region of at least ``min_length`` frames."""
    out: list[tuple[int, int]] = []
    for s, e in regions:
        size = e - s
        if size < min_length:
            continue
        if size <= length:
            out.append((s, e))
            continue
        starts = list(range(s, e - length + 1, hop))
        if starts[-1] + length < e:
            starts.append(e - length)
        out.extend((a, a + length) for a in starts)
    return out


# --------------------------------------------------------------------------- descriptors
def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def _zscore(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.size == 0:
        return v
    med = np.nanmedian(np.where(np.isfinite(v), v, np.nan), axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    v = np.where(np.isfinite(v), v, med)
    return (v - v.mean(axis=0)) / np.maximum(v.std(axis=0), 1e-6)


def frame_features(x: np.ndarray, speech: np.ndarray, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
    """Mel power, MFCCs (frames aligned on the speech mask) and F0 of the speech frames."""
    frame_s = float(cfg["frame_s"])
    fcfg = cfg["embedded"]["features"]
    n = speech.shape[0]
    mel = feat.mel_power(x)
    if mel.shape[0] < n:
        mel = np.pad(mel, ((0, n - mel.shape[0]), (0, 0)))
    mel = mel[:n]
    mfcc = feat.mfcc_from_mel(mel, int(fcfg["n_mfcc"]))
    speech_idx = np.flatnonzero(speech)
    f0 = np.full(n, np.nan, dtype=np.float32)
    f0[speech_idx] = feat.f0_track(
        x,
        speech_idx,
        frame_s,
        float(fcfg["f0_min_hz"]),
        float(fcfg["f0_max_hz"]),
        float(fcfg["voicing_threshold"]),
    )
    return {"mel": mel, "mfcc": mfcc, "f0": f0}


def window_views(
    x: np.ndarray,
    windows: list[tuple[int, int]],
    frames: dict[str, np.ndarray],
    cfg: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Three descriptions of every window: ``encoder`` (pretrained speaker embedding,
    centred on the call and unit-normalised), ``mfcc`` (mean and spread of the cepstrum) and
    ``f0`` (median log F0); the last two are standardised over the call's windows."""
    frame_s = float(cfg["frame_s"])
    fcfg = cfg["embedded"]["features"]
    # every window is brought to the same level before the encoder
    # (mel power scales with the square of the signal level)
    csum = np.concatenate(([0.0], np.cumsum(np.asarray(x, dtype=np.float64) ** 2)))
    hop = int(round(frame_s * feat.SAMPLE_RATE))
    target = 10 ** (float(fcfg["level_dbfs"]) / 10)
    gains = np.array(
        [
            target
            / max((csum[min(b * hop, x.shape[0])] - csum[a * hop]) / max((b - a) * hop, 1), 1e-10)
            for a, b in windows
        ],
        dtype=np.float32,
    )
    raw = feat.encoder_embeddings(frames["mel"], windows, gains)
    ceps = frames["mfcc"][:, 1:]
    logf0 = np.log(frames["f0"])
    pcts = [float(p) for p in fcfg["f0_percentiles"]]
    mf, f0 = [], []
    for a, b in windows:
        c = ceps[a:b]
        lf = logf0[a:b]
        lf = lf[np.isfinite(lf)]
        mf.append(np.concatenate([c.mean(axis=0), c.std(axis=0)]))
        f0.append(np.percentile(lf, pcts) if lf.size >= 3 else np.full(len(pcts), np.nan))
    encoder = _unit(raw - raw.mean(axis=0)) if len(raw) > 1 else _unit(raw)
    return {
        "encoder": encoder,
        "mfcc": _zscore(np.asarray(mf)),
        "f0": _zscore(np.asarray(f0)),
        "raw": raw,
    }


# --------------------------------------------------------------------------- clustering
def knn_graph(v: np.ndarray, neighbours: float, cosine: bool) -> np.ndarray:
    """Symmetric binarised nearest-neighbour graph (each window links to its closest
    ``neighbours`` fraction of windows)."""
    n = v.shape[0]
    if cosine:
        sim = v @ v.T
    else:
        sq = (v * v).sum(axis=1)
        sim = -(sq[:, None] + sq[None, :] - 2 * v @ v.T)
    keep = int(min(n, max(2, np.ceil(neighbours * n))))
    nearest = np.argpartition(-sim, keep - 1, axis=1)[:, :keep]
    a = np.zeros((n, n))
    np.put_along_axis(a, nearest, 1.0, axis=1)
    return 0.5 * (a + a.T)


def laplacian_spectrum(a: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest eigenvalues/vectors of the normalised Laplacian of affinity ``a``."""
    from scipy.linalg import eigh

    d = a.sum(axis=1)
    dinv = 1.0 / np.sqrt(np.maximum(d, 1e-9))
    lap = np.eye(a.shape[0]) - dinv[:, None] * a * dinv[None, :]
    k_max = min(k_max, a.shape[0] - 1)
    return eigh(lap, subset_by_index=[0, k_max])


def spectral_labels(vecs: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(_unit(vecs[:, :k]))


def graph_posteriors(a: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Soft labels: each window's neighbour weight per cluster (itself included)."""
    onehot = np.eye(k)[labels]
    w = a + np.eye(a.shape[0])
    post = w @ onehot
    return post / np.maximum(post.sum(axis=1, keepdims=True), 1e-9)


def modularity(a: np.ndarray, labels: np.ndarray) -> float:
    """Newman modularity of a partition in graph ``a`` (how much more its edges stay inside
    clusters than chance would have them)."""
    m2 = a.sum()
    if m2 <= 0:
        return 0.0
    deg = a.sum(axis=1)
    same = labels[:, None] == labels[None, :]
    return float(((a - np.outer(deg, deg) / m2) * same).sum() / m2)


def partition(a: np.ndarray, k: int) -> np.ndarray:
    _, vecs = laplacian_spectrum(a, k)
    return spectral_labels(vecs, k)


def weighted_graph(graphs: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    if total <= 0:
        return sum(graphs.values()) / len(graphs)
    return sum(w * graphs[name] for name, w in weights.items()) / total


def consensus_partition(
    graphs: dict[str, np.ndarray], priors: dict[str, float], k: int, cfg: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Speaker partition agreed on by the views.

    A partition that reflects who speaks shows in every view; one that reflects phonetic
    content or intonation shows in one view only. Each view proposes its own partition; the
    one best supported by another view (modularity in that view's graph) is kept; then the
    views are weighted by how well they support the current partition (modularity^gamma
    × prior) and the weighted graph is partitioned again, until stable.
    """
    ccfg = cfg["embedded"]["clustering"]
    gamma = float(ccfg["view_weight_power"])
    names = [v for v in graphs if priors.get(v, 0) > 0]
    proposals = {v: partition(graphs[v], k) for v in names}
    if len(names) > 1:
        support = {
            u: max(modularity(graphs[v], proposals[u]) for v in names if v != u) for u in names
        }
    else:
        support = {names[0]: modularity(graphs[names[0]], proposals[names[0]])}
    best = max(support, key=lambda v: support[v])
    labels = proposals[best]
    weights = {v: priors[v] for v in names}
    for _ in range(int(ccfg["refine_iterations"])):
        weights = {v: priors[v] * max(modularity(graphs[v], labels), 0.0) ** gamma for v in names}
        new = partition(weighted_graph(graphs, weights), k)
        if _same_partition(new, labels):
            break
        labels = new
    graph = weighted_graph(graphs, weights)
    info = {
        "proposal": best,
        "support": {v: round(x, 3) for v, x in support.items()},
        "view_weights": {
            v: round(x / max(sum(weights.values()), 1e-9), 3) for v, x in weights.items()
        },
    }
    return labels, graph, info


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to a renaming of the clusters."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def cluster_windows(
    views: dict[str, np.ndarray], weights: np.ndarray, num_speakers: int | None, cfg: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, int, dict[str, Any]]:
    """Window labels, the graph they were cut from, and the number of speakers (given, or
    estimated in 1..max_speakers)."""
    ecfg = cfg["embedded"]
    priors = {
        name: float(spec["weight"])
        for name, spec in ecfg["features"]["views"].items()
        if name in views
    }
    graphs = view_graphs(views, priors, cfg)
    n = len(weights)
    if num_speakers is None:
        labels, info = estimate_speakers(views, priors, weights, cfg)
        k = int(labels.max()) + 1
        if k == 1:
            return labels, weighted_graph(graphs, priors), 1, info
        # final partition of all windows with the estimated count
        labels, graph, info_k = consensus_partition(graphs, priors, k, cfg)
        info.update(info_k)
        return labels, graph, k, info
    k = max(1, min(int(num_speakers), n - 1))
    if k == 1:
        return np.zeros(n, dtype=int), weighted_graph(graphs, priors), 1, {}
    labels, graph, info = consensus_partition(graphs, priors, k, cfg)
    return labels, graph, k, info


def view_graphs(
    views: dict[str, np.ndarray], priors: dict[str, float], cfg: dict[str, Any]
) -> dict[str, np.ndarray]:
    neighbours = float(cfg["embedded"]["clustering"]["neighbours"])
    return {
        name: knn_graph(views[name], neighbours, cosine=name == "encoder")
        for name in priors
        if priors[name] > 0
    }


def split_support(graphs: dict[str, np.ndarray], labels: np.ndarray) -> float:
    """How well a partition is backed by the views: the second-highest modularity over the
    views' graphs (a speaker split shows in at least two views; a split along phonetic
    content or intonation shows in one)."""
    q = sorted((modularity(g, labels) for g in graphs.values()), reverse=True)
    return q[1] if len(q) > 1 else q[0]


def estimate_speakers(
    views: dict[str, np.ndarray], priors: dict[str, float], weights: np.ndarray, cfg: dict[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """``num_speakers=None``: divisive estimate. A group of at least ``min_split_windows``
    windows is split in two only when the split is backed by two views (``split_support`` ≥
    ``min_split_support``) and its smaller side holds at least ``min_share`` of the speech;
    up to ``max_speakers`` groups."""
    ccfg = cfg["embedded"]["clustering"]
    min_support = float(ccfg["min_split_support"])
    min_share = float(ccfg["min_share"])
    min_windows = max(8, int(ccfg["min_split_windows"]))
    max_k = int(ccfg["max_speakers"])
    total = max(float(weights.sum()), 1e-9)
    groups = [np.arange(len(weights))]
    supports: list[float] = []
    tried: set[tuple[int, ...]] = set()
    attempts: list[tuple[int, float, float]] = []
    while len(groups) < max_k:
        best: tuple[float, int, np.ndarray] | None = None
        for gi, idx in enumerate(groups):
            key = tuple(idx[:3].tolist()) + (len(idx),)
            if len(idx) < min_windows or key in tried:
                continue
            sub = {name: v[idx] for name, v in views.items()}
            graphs = view_graphs(sub, priors, cfg)
            labels, _, _ = consensus_partition(graphs, priors, 2, cfg)
            support = split_support(graphs, labels)
            share = min(weights[idx][labels == j].sum() for j in range(2)) / total
            attempts.append((len(idx), round(support, 3), round(float(share), 3)))
            if support < min_support or share < min_share:
                tried.add(key)
                continue
            if best is None or support > best[0]:
                best = (support, gi, labels)
        if best is None:
            break
        support, gi, labels = best
        idx = groups.pop(gi)
        groups += [idx[labels == 0], idx[labels == 1]]
        supports.append(round(support, 3))
    out = np.zeros(len(weights), dtype=int)
    for j, idx in enumerate(groups):
        out[idx] = j
    return out, {"split_support": supports, "split_attempts": attempts}


# --------------------------------------------------------------------------- resegmentation
def window_evidence(
    n: int, windows: list[tuple[int, int]], post: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mean posterior of the windows covering it, and the number of windows."""
    acc = np.zeros((n + 1, k))
    cnt = np.zeros(n + 1)
    for (a, b), p in zip(windows, post, strict=True):
        acc[a] += p
        acc[b] -= p
        cnt[a] += 1
        cnt[b] -= 1
    acc = np.cumsum(acc, axis=0)[:n]
    cnt = np.cumsum(cnt)[:n]
    ev = np.where(cnt[:, None] > 0, acc / np.maximum(cnt[:, None], 1e-9), 1.0 / k)
    return ev, cnt


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Best label path for per-frame scores (T, K) with a cost for every change of label."""
    t_len, k = scores.shape
    back = np.zeros((t_len, k), dtype=np.int32)
    delta = scores[0].copy()
    for t in range(1, t_len):
        best = int(np.argmax(delta))
        stay = delta
        move = delta[best] - penalty
        use_move = move > stay
        back[t] = np.where(use_move, best, np.arange(k))
        delta = np.where(use_move, move, stay) + scores[t]
    path = np.zeros(t_len, dtype=np.int32)
    path[-1] = int(np.argmax(delta))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _smooth(values: np.ndarray, mask: np.ndarray, width: int) -> np.ndarray:
    """Moving average of ``values`` (T, K) over the frames of ``mask`` only."""
    if width <= 1:
        return values
    kernel = np.ones(width)
    m = mask.astype(float)
    num = np.stack(
        [np.convolve(values[:, j] * m, kernel, mode="same") for j in range(values.shape[1])], axis=1
    )
    den = np.convolve(m, kernel, mode="same")[:, None]
    return num / np.maximum(den, 1e-9)


def resegment(
    labels0: np.ndarray,
    evidence: np.ndarray,
    covered: np.ndarray,
    frames: dict[str, np.ndarray],
    regions: list[tuple[int, int]],
    speech: np.ndarray,
    k: int,
    cfg: dict[str, Any],
) -> np.ndarray:
    """Frame labels by Viterbi over: per-speaker diagonal GMMs on MFCCs, a per-speaker
    Gaussian on log F0 (voiced frames) and the window evidence."""
    from sklearn.mixture import GaussianMixture

    frame_s = float(cfg["frame_s"])
    rcfg = cfg["embedded"]["resegmentation"]
    feats = frames["mfcc"][:, 1:].astype(np.float64)
    sp = np.flatnonzero(speech)
    feats = (feats - feats[sp].mean(axis=0)) / np.maximum(feats[sp].std(axis=0), 1e-6)
    logf0 = np.log(frames["f0"].astype(np.float64))
    voiced = np.isfinite(logf0) & speech
    f0_weight = float(rcfg["f0_weight"])
    log_ev = float(rcfg["window_weight"]) * np.log(np.clip(evidence, 1e-3, 1.0))
    width = max(1, int(round(float(rcfg["llr_smoothing_s"]) / frame_s)))
    penalty = float(rcfg["switch_penalty"])
    comps = int(rcfg["gmm_components"])
    labels = labels0.copy()
    for it in range(int(rcfg["iterations"])):
        ll = np.zeros((speech.shape[0], k))
        for j in range(k):
            train = (labels == j) & speech
            if it == 0:
                train &= (evidence[:, j] >= float(rcfg["confident"])) & (covered > 0)
            idx = np.flatnonzero(train)
            if idx.size < 10 * comps:
                return labels
            gmm = GaussianMixture(
                comps, covariance_type="diag", max_iter=30, random_state=0, reg_covar=1e-3
            )
            gmm.fit(feats[idx])
            ll[sp, j] = gmm.score_samples(feats[sp])
            vj = train & voiced
            if f0_weight > 0 and vj.sum() >= 20:
                mu, sd = float(logf0[vj].mean()), max(float(logf0[vj].std()), 0.02)
                ll[voiced, j] += f0_weight * (-0.5 * ((logf0[voiced] - mu) / sd) ** 2 - np.log(sd))
        ll -= ll.max(axis=1, keepdims=True)
        scores = _smooth(ll, speech, width) + log_ev
        new = np.full_like(labels, -1)
        for s, e in regions:
            new[s:e] = viterbi(scores[s:e], penalty)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def absorb_short_runs(
    labels: np.ndarray, regions: list[tuple[int, int]], min_frames: int
) -> np.ndarray:
    """Inside each speech region, runs shorter than ``min_frames`` take the label of their
    longer neighbour (an isolated short region keeps its own label)."""
    out = labels.copy()
    for s, e in regions:
        for _ in range(4):
            r = runs(out[s:e])
            if len(r) <= 1:
                break
            changed = False
            for i, (a, b, v) in enumerate(r):
                if b - a >= min_frames:
                    continue
                left = r[i - 1] if i > 0 else None
                right = r[i + 1] if i + 1 < len(r) else None
                nb = max((x for x in (left, right) if x is not None), key=lambda x: x[1] - x[0])
                if nb[2] != v:
                    out[s + a : s + b] = nb[2]
                    changed = True
            if not changed:
                break
    return out


# --------------------------------------------------------------------------- entry
@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """Run torch and BLAS on ``n`` threads (small batches gain nothing from more, and on a
    busy 2-core machine extra threads spin and slow everything down)."""
    if n <= 0:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def diarize_embedded(
    audio: Audio,
    cfg: dict[str, Any],
    num_speakers: int | None = 2,
    vad_segments: Sequence[tuple[float, float]] | None = None,
) -> Diarization:
    with limited_threads(int(cfg["embedded"].get("threads", 1))):
        return _diarize_embedded(audio, cfg, num_speakers, vad_segments)


def _diarize_embedded(
    audio: Audio,
    cfg: dict[str, Any],
    num_speakers: int | None,
    vad_segments: Sequence[tuple[float, float]] | None,
) -> Diarization:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    frame_s = float(cfg["frame_s"])
    ecfg = cfg["embedded"]
    x = np.ascontiguousarray(audio.mono(), dtype=np.float32)
    sr = int(audio.sample_rate)
    speech, vad_source = speech_mask(x, sr, cfg, vad_segments)
    timings["vad"] = time.perf_counter() - t0
    regions = [(s, e) for s, e, v in runs(speech) if v]
    details: dict[str, Any] = {
        "vad": vad_source,
        "speech_s": round(float(speech.sum()) * frame_s, 2),
    }
    n = speech.shape[0]
    if not regions:
        details["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        return Diarization(turns=(), backend=BACKEND, speakers=(), details=details)

    wcfg = ecfg["windows"]
    windows = make_windows(
        regions,
        max(1, int(round(float(wcfg["length_s"]) / frame_s))),
        max(1, int(round(float(wcfg["hop_s"]) / frame_s))),
        max(1, int(round(float(wcfg["min_length_s"]) / frame_s))),
    )
    labels = np.full(n, -1, dtype=np.int64)
    if num_speakers == 1 or len(windows) < 2:
        labels[speech] = 0
        k = 1
    else:
        t = time.perf_counter()
        frames = frame_features(x, speech, cfg)
        views = window_views(x, windows, frames, cfg)
        timings["features"] = time.perf_counter() - t
        t = time.perf_counter()
        weights = np.array([b - a for a, b in windows], dtype=float)
        wlab, graph, k, info = cluster_windows(views, weights, num_speakers, cfg)
        details.update(info)
        timings["clustering"] = time.perf_counter() - t
        if k == 1:
            labels[speech] = 0
        else:
            t = time.perf_counter()
            post = graph_posteriors(graph, wlab, k)
            evidence, covered = window_evidence(n, windows, post, k)
            labels = np.where(speech, np.argmax(evidence, axis=1), -1)
            if ecfg["resegmentation"]["enabled"]:
                labels = resegment(labels, evidence, covered, frames, regions, speech, k, cfg)
            timings["resegmentation"] = time.perf_counter() - t
    scfg = ecfg["smoothing"]
    labels = absorb_short_runs(labels, regions, int(round(float(scfg["min_turn_s"]) / frame_s)))
    labels = order_by_first_appearance(labels)
    present = [j for j in range(k) if (labels == j).any()]
    gap = int(round(float(scfg["fill_gap_s"]) / frame_s))
    masks: dict[str, np.ndarray] = {}
    for j in present:
        own = labels == j
        others = (labels >= 0) & ~own
        masks[speaker_name(j)] = fill_gaps(own, gap, blocked=others)
    turns = turns_from_masks(masks, frame_s, audio.duration, float(scfg["pad_s"]))
    timings["total"] = time.perf_counter() - t0
    details.update(
        {
            "num_speakers": len(present),
            "windows": len(windows),
            "timings_s": {key: round(val, 3) for key, val in timings.items()},
        }
    )
    return Diarization(
        turns=turns,
        backend=BACKEND,
        speakers=tuple(speaker_name(j) for j in present),
        details=details,
    )
