"""Page « Bilan annuel »: statistics across a year's sessions for the conseil de
perfectionnement — success rate, per-criterion acquis rate, juror–tool agreement,
juror–juror agreement, appeals and dysfunctions. Aggregates only (no candidate names)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from call_eval import report, store
from call_eval.store.sessions import APPEAL_STATUS_LABELS, DYSFUNCTION_CATEGORY_LABELS
from call_eval.ui import common, resources


def render() -> None:
    db = resources.database()
    user = common.actor(db)
    st.title("Bilan annuel")
    st.caption(
        "Conseil de perfectionnement : conformité du processus d'évaluation et pertinence de "
        "la grille, à partir des sessions de l'année."
    )
    common.flash()
    years = store.review_years(db, user)
    current = datetime.now(UTC).year
    options = sorted(set(years) | {current}, reverse=True)
    year = st.selectbox("Année", options=options, index=options.index(years[0] if years else current),
                        key="review_year", width=160)  # fmt: skip
    review = store.annual_review(db, user, year)
    data = review.to_dict()
    if not review.sessions:
        st.info(f"Aucune session en {year}.")
        return
    cols = st.columns(5)
    cols[0].metric("Sessions", review.sessions)
    cols[1].metric("Candidats inscrits", review.registered, help=f"dont {review.absent} absent(s)")
    cols[2].metric(
        "Taux de réussite",
        report.format_percent(review.success_rate),
        help=f"{review.certified} certifié(s) sur {review.decided} décision(s)",
    )
    cols[3].metric(
        "Accord jurés–outil",
        report.format_percent(review.tool_agreement),
        help=f"kappa de Cohen {report.format_kappa(review.tool_kappa)} sur "
        f"{review.tool_pairs} critères où l'outil proposait acquis ou non acquis",
    )
    cols[4].metric(
        "Accord entre jurés (kappa)",
        report.format_kappa(review.jury_kappa),
        help=f"kappa de Fleiss, {review.jury_subjects} candidat(s) noté(s) par au moins deux jurés",
    )
    st.markdown(
        f"Première présentation : **{report.format_percent(review.first_success_rate)}** de "
        f"réussite ({review.first_certified}/{review.first_decided}) · rattrapage : "
        f"**{report.format_percent(review.retake_success_rate)}** "
        f"({review.retake_certified}/{review.retake_decided})"
        + (
            f" · {review.annulled} présentation(s) annulée(s) après recours"
            if review.annulled
            else ""
        )
    )
    st.subheader("Par critère")
    pct, kappa = report.format_percent, report.format_kappa
    st.dataframe(
        [
            {
                "Critère": c.criterion_id,
                "Libellé": c.label,
                "Acquis (jury)": pct(c.acquis_rate),
                "Accord jurés–outil": pct(c.tool_agreement),
                "Kappa jurés–outil": kappa(c.tool_kappa),
                "« À vérifier »": c.tool_a_verifier,
                "Unanimité des jurés": pct(c.jury_unanimity),
                "Kappa entre jurés": kappa(c.jury_kappa),
            }
            for c in review.criteria
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "Critère": st.column_config.TextColumn(width=60),
            "Libellé": st.column_config.TextColumn(width="medium"),
        },
    )
    st.caption(
        "Kappa : 1 accord parfait, 0 accord dû au hasard, négatif désaccord systématique. Un "
        "critère où l'outil et les jurés divergent souvent est à revoir dans la grille ou ses "
        "réglages ; un critère où les jurés divergent entre eux, dans sa formulation ou la "
        "session d'information des jurés."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Recours")
        if review.appeals:
            for status, n in review.appeals.items():
                st.markdown(f"- {APPEAL_STATUS_LABELS.get(status, status)} : {n}")
        else:
            st.caption("Aucun recours.")
    with right:
        st.subheader("Dysfonctionnements")
        if review.dysfunctions:
            for category, n in review.dysfunctions.items():
                st.markdown(f"- {DYSFUNCTION_CATEGORY_LABELS.get(category, category)} : {n}")
        else:
            st.caption("Aucun dysfonctionnement consigné.")
        if review.jury_warnings:
            st.caption(
                f":orange[{review.jury_warnings} juré(s) ne remplissaient pas toutes les "
                "conditions du référentiel lors de leur session.]"
            )
    row = st.container(horizontal=True)
    row.download_button(
        "Bilan (Markdown)",
        data=report.annual_review_markdown(data).encode("utf-8"),
        file_name=f"bilan_annuel_{year}.md",
        mime="text/markdown",
        icon=":material/description:",
        key="download_review_md",
        on_click="ignore",
    )
    row.download_button(
        "Tableau par critère (CSV)",
        data=report.annual_review_csv(data),
        file_name=f"bilan_annuel_{year}_criteres.csv",
        mime="text/csv",
        icon=":material/table:",
        key="download_review_csv",
        on_click="ignore",
    )
