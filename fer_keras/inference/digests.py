"""SHA-256 digests of exported artifacts, and the check that a folder's artifacts belong together.

An export records each artifact's digest in its `model_info.json` (`digests`,
`fer_keras.deployment.export_set`); loading an artifact whose digest differs from the recorded
one is refused (`check_digests`), so a folder mixing files of two exports never answers with one
model's outputs under the other's class names.
"""

from pathlib import Path

from fer_keras.checksums import digest  # noqa: F401 - re-exported: the artifacts' digest


class ArtifactMismatch(ValueError):
    """An export folder's artifact is not the one its model_info.json describes."""


def digests(folder, names):
    """{name: digest} of the artifacts `names` in `folder` (missing ones left out)."""
    folder = Path(folder)
    return {n: digest(folder / n) for n in names if (folder / n).exists()}


def check_digests(artifact, info):
    """Raises ArtifactMismatch when `info` (the folder's model_info.json) records a digest for
    `artifact` and the file's differs. Older exports (no digests) are not checked."""
    artifact = Path(artifact)
    recorded = (info or {}).get("digests") or {}
    name = artifact.name
    if name not in recorded:
        return
    if digest(artifact) != recorded[name]:
        raise ArtifactMismatch(
            f"{artifact} is not the artifact {artifact.parent / 'model_info.json'} describes "
            "(its SHA-256 differs): the folder mixes files of two exports, so its class names "
            "may not be this model's; export the model again into a new folder")


__all__ = ["ArtifactMismatch", "check_digests", "digest", "digests"]
