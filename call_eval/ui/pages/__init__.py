"""One small file per page: Streamlit runs it; it calls the page module's ``render``."""
