"""The page's long texts: what it is, and the words it uses. Plain words first (a 15-year-old reads them)."""

SUBTITLE = ("Tiny changes a person cannot see make this AI misread a digit or a garment; a second network tries to catch "
            "them.")

ABOUT = """
**In plain words.** A neural network reads small pictures of digits (or garments). An *attacker* changes each
pixel a tiny bit, too little for you to notice, and the network reads something else. Move the **ε** slider:
it sets how much each pixel may change. A second part of the network redraws the picture; when the redrawing
looks wrong, an **alarm** goes off. Does it catch the attack?

**The model.** A **β-Variational Classifier** (Maggipinto, Terzi, Susto) encodes an image into a 100-number
code z, reads the class from z with a small network, while a decoder redraws the image from the same z. The
paper asks whether squeezing z (its capacity C) makes the classifier robust to **adversarial examples**: inputs
changed by at most ε per pixel so that the prediction flips. Its answers, which you can check here:

1. **Not robust.** Projected gradient descent (PGD: 40 small steps uphill on the classifier's loss, each
   kept within ε of the input) flips most predictions at small ε. Move the ε slider and watch.
2. **But detectable.** The decoder does not redraw the attacked input faithfully: its *reconstruction error*
   jumps, and a simple threshold on it (the detector) flags the attack. See the histogram.
3. **The decoder is fooled too**, as ε grows: it redraws the attacked input as the *wrong* class. See the
   film strip, and how often it happens in [the reproduction report]({report}).

Try *evade the detector*: an attacker who knows the detector keeps the reconstruction error under the
threshold while still flipping the class. And draw your own digit: does it fool the model as easily?
"""

GLOSSARY = """
- **ε (epsilon)**: the attack's budget. With ℓ∞ (the paper's), the most any one pixel may change, on a scale
  where 1 is black to white: ε = 0.03 is about 8 of 255 grey levels. With ℓ2, the length of the whole change
  (the square root of the sum of every pixel's change squared): the budget can go to a few pixels or spread
  thinly over all of them.
- **PGD (projected gradient descent)**: the attack. It nudges every pixel a little in the direction that most
  lowers the model's confidence in the right class, 40 times, and after each nudge pulls the picture back
  within ε of the original.
- **Reconstruction error (RE)**: how different the decoder's redrawing is from the picture it was given
  (‖x − x̂‖₂). Real pictures are redrawn well; attacked ones less so.
- **Detector**: an alarm on the reconstruction error: it goes off above a limit τ learnt from clean and
  attacked training images (§6.1 of the paper).
"""

PHONE_HINT = "On a phone, the settings are behind **»** at the top left."
