"""Publishing a LAPT output folder to the Hub, called on every rank (only the main process uploads)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch.distributed as dist

logger = logging.getLogger(__name__)


class PushToHubError(RuntimeError):
    """The upload failed; the local output is complete regardless."""


def push_folder_to_hub(folder: str | Path, repo_id: str, is_main_process: bool, private: bool | None = None) -> None:
    """Create the repo if needed and upload ``folder``; every rank must call this (a barrier follows)."""
    error: Exception | None = None
    if is_main_process:
        try:
            from huggingface_hub import create_repo, upload_folder

            create_repo(repo_id, exist_ok=True, private=private)
            upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="langadapt LAPT")
            logger.info("pushed %s to https://huggingface.co/%s", folder, repo_id)
        except Exception as err:  # network, auth, permissions: all reported the same way
            error = err
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
    if error is not None:
        raise PushToHubError(
            f"push of {folder} to the Hub repo {repo_id!r} failed: {type(error).__name__}: {error}. "
            f"The local output in {folder} is complete; push it later with `huggingface-cli upload {repo_id} {folder}`."
        ) from error
