"""vacdemo's Streamlit page. A placeholder until the app issue: it shows what the shipped models are."""
import streamlit as st

from vacdemo import CheckpointError, load_pretrained


@st.cache_resource
def cached_model(name: str):
    return load_pretrained(name)


def main() -> None:
    st.set_page_config(page_title="vacdemo: β-VAC under attack", layout="centered")
    st.title("β-Variational Classifiers under attack")
    st.write("An interactive lab for the paper by Maggipinto, Terzi and Susto. The live attack page is "
             "being built; for now this page lists the shipped checkpoints.")
    for name in ("mnist", "fmnist"):
        try:
            model = cached_model(name)
        except CheckpointError as e:
            st.info(f"{name}: {e}")
            continue
        final = model.meta.get("metrics", {}).get("final", {})
        st.subheader(name)
        st.write(f"widths {model.cfg.width1}/{model.cfg.width2}, C = {model.cfg.capacity:g} "
                 f"({model.cfg.kl_unit}), β = {model.cfg.beta:g}; "
                 f"clean test accuracy {final.get('test_accuracy', float('nan')):.2%}")


if __name__ == "__main__":
    main()
