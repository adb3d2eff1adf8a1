"""Is this picture attacked? Any upload goes to the detector alone: the model's reading, the decoder's redrawing
beside the picture, the reconstruction error among the clean test pictures', and the detector's verdict with its
measured error rates. A picture from this lab (its marker) also says what the attack did and whether it still
fools the model after PNG rounding. Draws what app.py hands it; computes nothing."""
import numpy as np
import streamlit as st

from vacdemo.datasets import CLASS_NAMES, DATASETS
from vacdemo.images import gray_png
from vacdemo.lab.record import Check, LabFacts

from . import inline, svg

UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "npy"]


def share_below(facts: LabFacts, re: float) -> float:
    """The share of the clean test pictures (the latent map's) whose reconstruction error is below re."""
    counts, edges = facts.re_counts, facts.re_edges
    inside = np.clip((re - edges[:-1]) / np.diff(edges), 0, 1)  # the part of each bin below re
    return float((counts * inside).sum() / counts.sum())


def rates_words(rates: dict | None, thing: str) -> str:
    """What the detector gets wrong, from its measured rates (python -m vacdemo rates)."""
    if rates is None:
        return ("Its error rates were not measured for this model (`python -m vacdemo rates`): take its verdict as "
                "a hint, not a proof.")
    try:
        rows = rates["per_eps"]
        missed = [r["pgd_missed"] for r in rows if r["pgd_missed"] is not None]
        aware = max(r["aware_fooled_unflagged"] for r in rows)
        rates["false_alarm"], rates["n_clean"], rates["n"], rows[0]["eps"], rows[-1]["eps"], min(missed)
    except (KeyError, TypeError, ValueError, IndexError):  # another format, or no attack ever succeeded
        return rates_words(None, thing)
    return (f"**How far to trust it.** It raises a false alarm on {rates['false_alarm']:.1%} of clean test "
            f"{thing}s ({rates['n_clean']:,} measured). It lets through {min(missed):.0%}–{max(missed):.0%} of the "
            f"PGD attacks that fool the model (ε {rows[0]['eps']:g}–{rows[-1]['eps']:g}, {rates['n']} test images), "
            f"and an attacker who knows about it gets up to {aware:.0%} of the pictures past it *and* misread. "
            "So *alarm off* never proves a picture is clean.")


def verdict(c: Check, facts: LabFacts, name: str, marked: bool) -> None:
    names, thing = CLASS_NAMES[name], DATASETS[name].thing
    below = share_below(facts, c.re)
    where = (f"higher than {below:.1%} of clean test {thing}s'" if below < 0.999 else
             f"higher than every clean test {thing}'s we measured")
    if c.flagged:
        st.error(f"**Alarm on**: the redrawing differs by {c.re:.3f}, above the limit {facts.tau:.3f} ({where}). "
                 f"Either the picture was attacked, or it is not a {thing} like those the model learnt from (another "
                 f"kind of picture, a photo, an odd style): the alarm cannot tell which.", icon=":material/warning:")
        if below >= 0.999 and not marked:
            st.warning(f"Its redrawing is further off than for any clean {thing} measured: this may not be a {thing} "
                       "at all. A model only knows the kind of picture it was trained on.", icon=":material/help:")
    else:
        st.success(f"**Alarm off**: the redrawing differs by {c.re:.3f}, under the limit {facts.tau:.3f} ({where}). "
                   f"The model reads it as **{names[c.pred]}**, {c.probs[c.pred]:.0%} sure.",
                   icon=":material/check_circle:")


def unlike_raw(facts: LabFacts, name: str, read, check, up, c: Check) -> None:
    """A 28×28 picture that passes only once prepared: read as it is, is it like any clean picture of the data set?
    Preparing finds a shape and fits it like a digit, so a garment comes out digit-like; its own pixels say more."""
    thing = DATASETS[name].thing
    try:
        raw = check(read(up.getvalue(), up.name, True).x)
    except ValueError:  # not 28×28: there are no pixels "as they are" to judge
        st.caption(f"The model answers with a {thing} class whatever it is shown: a picture of something else still "
                   "gets one, and the alarm is made to catch attacks, not other kinds of picture.")
        return
    if not c.flagged and share_below(facts, raw.re) >= 0.999:
        st.warning(f"Read with its pixels as they are, this picture is unlike any clean {thing} measured (its "
                   f"redrawing is off by {raw.re:.3f}); prepared like a photo it became a {thing}-like shape that "
                   f"the model reads as **{CLASS_NAMES[name][c.pred]}**. It may not be a {thing} at all: the model "
                   f"answers with a {thing} whatever it is shown.", icon=":material/help:")


def provenance(c: Check, mark: dict, name: str) -> None:
    """What the marker says, and whether the picture (rounded to 8 bits) still fools the model."""
    names = CLASS_NAMES[name]
    attack = f"{mark['attack']} at ε = {mark['eps']:.3f} ({'ℓ∞' if mark['norm'] == 'inf' else 'ℓ2'})"
    start = f"This picture came from this lab (its marker): {attack}, moving it away from **{names[mark['label']]}**"
    now = c.pred_8bit
    if now != mark["label"]:
        st.info(f"{start}. Read pixel for pixel and rounded to 1/255 as a PNG, it **still fools the model**: it reads "
                f"**{names[now]}**.", icon=":material/science:")
    else:
        st.info(f"{start}. Rounded to 1/255 as a PNG it **no longer fools the model**: it reads **{names[now]}** "
                "again (the .npy download keeps the exact pixels).", icon=":material/science:")


def page(facts: LabFacts, name: str, read, check, rates: dict | None) -> None:
    """read(bytes, filename, as_is) → vacdemo.lab.marked.Picture or raises ValueError; check(x) → Check."""
    thing = DATASETS[name].thing
    st.subheader("Is this picture attacked?")
    st.markdown(f"Upload any picture of a {thing}: a photo, a drawing, or a download from the lab (its marker makes "
                "it read pixel for pixel). No attack runs here: the model reads it, the decoder redraws it, and the "
                "alarm judges the difference.")
    up = st.file_uploader("A picture (PNG, JPEG, GIF, BMP, WebP) or a .npy array, at most 5 MB", type=UPLOAD_TYPES,
                          key=f"check_upload_{name}")
    as_is = st.checkbox("Use the pixels as they are", key="check_as_is",
                        help=f"For a 28×28 picture already made like the data set: no re-centring, no thickening. "
                             "Unticked, an unmarked picture is prepared like a photo, as in the lab.")
    if up is None:
        st.info(f"Upload a picture of a {thing} above. Try a download from the lab's attack, then a clean one.",
                icon=":material/upload:")
        return
    label = "`" + up.name.replace("`", "'") + "`"
    try:
        pic = read(up.getvalue(), up.name, as_is)
    except ValueError as e:
        st.error(f"{label} could not be used: {e}")
        return
    c = check(pic.x)
    how = {"marked": "read pixel for pixel (a download from this lab)", "as is": "read with its pixels as they are",
           "prepared": "prepared like a photo (found, centred and scaled as the data set's pictures)"}[pic.how]
    st.caption(f"{label}: {how}" + (f"; {pic.note}" if pic.note else ""))
    names = CLASS_NAMES[name]
    st.html(inline.row([(gray_png(pic.x[0]), f"the picture: the model reads {names[c.pred]}"),
                        (gray_png(c.recon), "the decoder redraws it")], 160))
    verdict(c, facts, name, pic.marker is not None)
    if pic.how == "prepared":
        unlike_raw(facts, name, read, check, up, c)
    if pic.marker is not None:
        provenance(c, pic.marker, name)
    lines = [(facts.tau, "limit", "black", True), (c.re, "this picture", svg.ADV, False)]
    top = np.argsort(c.probs)[::-1][:3]
    st.markdown("The model's reading: " + ", ".join(f"**{names[i]}** {c.probs[i]:.1%}" for i in top))
    st.html(inline.row([(svg.error_histogram(facts.re_counts, facts.re_edges, lines), "")], svg.WIDTH))
    st.markdown(rates_words(rates, thing))
    st.caption(f"Detector score P(adversarial) = {c.score:.3f} · RE = ‖x − x̂‖₂ = {c.re:.3f} · τ = {facts.tau:.3f}")
