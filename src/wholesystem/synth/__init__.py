"""A synthetic integrated care system ("Northshire") from a documented generating process.

``generate(SynthConfig(people=..., seed=...), out_dir)`` writes the footprint, every
partner's extracts (CSV, and FHIR R4 for some practices), the monthly returns and the
ground truth (true identities, latent drivers, real risks, the true person behind every
record). See ``docs/synthetic-data.md`` for the generating process and the noise model.
"""

from wholesystem.synth.config import IdentityNoise, SynthConfig, SynthError
from wholesystem.synth.pipeline import FileEntry, SynthManifest, generate

__all__ = ["FileEntry", "IdentityNoise", "SynthConfig", "SynthError", "SynthManifest", "generate"]
