# Installed by nbtrack into <prefix>/etc/ipython/startup/: loads %%track in every
# new IPython shell and Jupyter kernel of this environment.
# Set NBTRACK_NO_AUTOLOAD=1 to switch it off.


def _nbtrack_autoload() -> None:
    import os

    if os.environ.get("NBTRACK_NO_AUTOLOAD", "").lower() in ("1", "true", "yes"):
        return
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.extension_manager.load_extension("nbtrack")
    except Exception as error:  # never break kernel start-up
        import warnings

        warnings.warn(f"nbtrack autoload failed: {error}", stacklevel=1)


_nbtrack_autoload()
del _nbtrack_autoload
