"""Every registry and every built-in entry, declared lazily: names, aliases, metadata and import paths.

This module imports no torch. Each entry's metadata is stated here, once: what suite validation,
expansion, ``ganbench plan``, ``ls`` and reports read (a dataset's kind and parameters, a loss's own
hyperparameters, an architecture's data kinds and defaults, a metric's outputs, ranges and needs,
an extractor's data kinds and logits). The object itself — a loss class, a network, a dataset
factory, a metric function — is imported from its ``"module:attr"`` path on the first
``REGISTRY.get(name)``, and the code there reads its defaults back from here (e.g.
``DATASETS.meta("ring")["params"]``) rather than keeping a copy. Adding a variant: write it, then
declare it below. tests/test_startup.py checks that every declared path resolves and that the
metadata agrees with what the object states where both exist.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ganbench.hparams import HPARAMS
from ganbench.registry import Lazy, Registry

if TYPE_CHECKING:  # the objects' types, for annotations only
    from ganbench.data.base import DatasetFactory
    from ganbench.features.base import ExtractorFactory
    from ganbench.losses import GanLoss
    from ganbench.metrics.base import MetricFn
    from ganbench.nets.base import Architecture
    from ganbench.penalties import Penalty

# ---------------------------------------------------------------- model kinds (ganbench/train.py)
# What a model entry trains: its kind decides whether it takes a GAN loss (and a penalty) and which
# steps of the training loop run. uses_loss: the suite requires `loss` (and allows `penalty`).

KINDS: Registry[str] = Registry("model kind")
KINDS.add("gan", "gan", uses_loss=True,
          description="GAN: G and D trained against each other with a loss of the zoo (`loss`, optional `penalty`).")
KINDS.add("vae", "vae", uses_loss=False,
          description="VAE (Kingma & Welling), the study's baseline: encoder + decoder, the ELBO of compare_gan v1.0.")
# Translation (ganbench/translation/): a model maps samples of domain A to domain B and back, trained on a domain
# pair (a dataset of task "translation"). task: which datasets and architectures a kind goes with (absent:
# "generation"); params: its own hyperparameters (scope "translation") with their defaults.
KINDS.add("cyclegan", "cyclegan", uses_loss=True, task="translation",
          params={"lambda_cyc": 10.0, "lambda_id": 0.5, "pool_size": 50},
          description="CycleGAN (Zhu et al. 2017): G_AB, G_BA and a D per domain on unpaired batches, adversarial "
                      "loss of the zoo + λ_cyc·cycle L1 (+ λ_id·λ_cyc·identity L1), D fed from a history of fakes.")
KINDS.add("pix2pix", "pix2pix", uses_loss=True, task="translation", params={"lambda_l1": 100.0}, needs_pairs=True,
          description="pix2pix (Isola et al. 2017), the paired baseline: per direction a G and a D conditioned on "
                      "the input (input, output) pairs, adversarial loss + λ_L1·L1 to the true counterpart.")

# ---------------------------------------------------------------- calibration rows (ganbench/calibration.py)
# Rows every report carries beside the models: real data scored as if it were a model, no training. Each
# suite adds them per dataset (its `calibration` key, both by default), over the seeds of its last phase.
# label: the row's model name in tables; the object: the function drawing its n_gen samples from the dataset.

CALIBRATIONS: Registry[Any] = Registry("calibration row")
CALIBRATIONS.declare("floor", "ganbench.calibration:floor_samples", aliases=("real", "held_out"),
                     label="real data (floor)",
                     description="Held-out real data the evaluation uses nowhere else, scored as a model: the best "
                                 "each metric can do at this n (FID of two real samples is not 0 at finite n).")
CALIBRATIONS.declare("identity", "ganbench.translation.evaluate:identity_translators", aliases=("copy_input",),
                     label="identity (copies the input)", task="translation",
                     description="A translator that returns its input (both directions): the reference row of "
                                 "every translation dataset; a method that does not beat it has learnt nothing.")
CALIBRATIONS.declare("copycat", "ganbench.calibration:copycat_samples", aliases=("memoriser", "copy"),
                     label="copycat (train images)",
                     description="A memoriser that returns training images (FLS's copycat): near the floor on "
                                 "FID, caught only by the memorisation metrics (authenticity, C_T).")

# ---------------------------------------------------------------- conditioning (ganbench/conditioning.py)
# How (and whether) a GAN is told what to generate; orthogonal to its loss and architecture. needs_labels:
# it needs the data's class labels; provides: what its samples carry for the metrics ("labels" asked of G,
# or InfoGAN's "codes"); params: its own hyperparameters with their defaults (scope "conditioning").

CONDITIONINGS: Registry[Any] = Registry("conditioning")
CONDITIONINGS.declare("none", "ganbench.conditioning:Unconditional", needs_labels=False, provides=(), params={},
                      description="Unconditional: G(z), D(x) (every model of the study).")
CONDITIONINGS.declare("cgan", "ganbench.conditioning:ConcatConditioning", aliases=("conditional",),
                      needs_labels=True, provides=("labels",), params={},
                      description="CGAN (Mirza & Osindero 2014): one-hot y concatenated to z (an embedding by G's "
                                  "first layer) and to D's input (label maps on images).")
CONDITIONINGS.declare("acgan", "ganbench.conditioning:AuxiliaryClassifier", aliases=("ac_gan", "ac-gan"),
                      needs_labels=True, provides=("labels",), params={"aux_weight": 1.0},
                      description="AC-GAN (Odena et al. 2017): y concatenated to z; D's trunk also classifies, both "
                                  "players add aux_weight × its cross-entropy (D on real and generated samples, G on "
                                  "generated).")
CONDITIONINGS.declare("projection", "ganbench.conditioning:Projection", aliases=("proj", "cbn"),
                      needs_labels=True, provides=("labels",), params={}, needs_g_batch_norm=True,
                      description="Projection D + conditional BN (Miyato & Koyama 2018): D adds ⟨embed(y), φ(x)⟩; "
                                  "G's batch norms take a per-class scale and shift.")
CONDITIONINGS.declare("infogan", "ganbench.conditioning:InfoGan", needs_labels=False, provides=("codes",),
                      params={"info_weight": 1.0, "info_cat": 10, "info_cont": 2},
                      description="InfoGAN (Chen et al. 2016): no labels; G(z, c) with a categorical code of info_cat "
                                  "values and info_cont U(−1, 1) codes, a Q head on D's trunk, info_weight × the "
                                  "mutual-information bound for G and Q.")

# ---------------------------------------------------------------- augmentation of D's inputs (ganbench/augment.py)
# data_kinds: what it transforms; params: its own hyperparameters with defaults (scope "augment").

AUGMENTATIONS: Registry[Any] = Registry("augmentation")
AUGMENTATIONS.declare("none", "ganbench.augment:NoAugment", data_kinds=("image", "vector"), params={},
                      description="D sees real and generated samples as they are (every model of the study).")
AUGMENTATIONS.declare("diffaugment", "ganbench.augment:DiffAugment", aliases=("diffaug",), data_kinds=("image",),
                      params={"augment_policy": "color,translation,cutout"},
                      description="DiffAugment (Zhao et al. 2020): colour, translation and cutout drawn per sample, "
                                  "applied differentiably to real and generated images before D.")
AUGMENTATIONS.declare("ada", "ganbench.augment:AdaptiveAugment", data_kinds=("image",),
                      params={"ada_target": 0.6, "ada_kimg": 500.0, "ada_interval": 4},
                      description="ADA (Karras et al. 2020): flips, quarter turns, translations, scales, rotations "
                                  "and colour, each with probability p; p tuned so E[sign D(x_real)] stays at "
                                  "ada_target, moving at most 1 per ada_kimg thousand real images.")

# ---------------------------------------------------------------- losses (ganbench/losses.py)
# params: the loss's own hyperparameters with their defaults (build_loss passes them to the class);
# default_penalty: the penalty a model uses unless it names one; revision: see ganbench/revisions.py.

LOSSES: Registry[type[GanLoss]] = Registry("loss")
LOSSES.declare("mm", "ganbench.losses:Minimax", aliases=("minimax", "mm_gan"), params={}, default_penalty="none",
               description="Minimax GAN (Goodfellow et al.): G minimises E log(1 − σ(D(G(z)))), saturating.")
LOSSES.declare("ns", "ganbench.losses:NonSaturating", aliases=("ns_gan", "gan", "nsgan"), params={},
               default_penalty="none",
               description="Non-saturating GAN: D as minimax, G maximises E log σ(D(G(z))).")
LOSSES.declare("wgan", "ganbench.losses:WassersteinClipped", params={"clip": 0.01}, default_penalty="none",
               description="WGAN (Arjovsky et al.): critic weights clipped to ±clip after every D step.")
LOSSES.declare("wgan_gp", "ganbench.losses:WassersteinGP", aliases=("wgangp",), params={}, default_penalty="wgan_gp",
               description="WGAN-GP (Gulrajani et al.): Wasserstein terms + gradient penalty on interpolates.")
LOSSES.declare("lsgan", "ganbench.losses:LeastSquares", aliases=("ls",), params={}, default_penalty="none",
               description="Least-squares GAN on σ(D) as compare_gan: ½E(σ(D(x))−1)² + ½Eσ(D(x̂))².")
LOSSES.declare("dragan", "ganbench.losses:Dragan", params={}, default_penalty="dragan",
               description="DRAGAN (Kodali et al.): non-saturating terms + gradient penalty near real data.")
LOSSES.declare("hinge", "ganbench.losses:Hinge", params={}, default_penalty="none",
               description="Hinge loss (SNGAN/BigGAN): E relu(1 − D(x)) + E relu(1 + D(x̂)); G: −E D(x̂).")
LOSSES.declare("rpgan", "ganbench.losses:RelativisticPairing", aliases=("relativistic", "rp"), params={},
               default_penalty="none",
               description="RpGAN (relativistic pairing; R3GAN's loss): D softplus(−(D(x) − D(x̂))), G the mirror.")
LOSSES.declare("ragan", "ganbench.losses:RelativisticAverage", aliases=("rasgan",), params={}, default_penalty="none",
               description="RaGAN (relativistic average): each side's scores against the other side's mean.")
LOSSES.declare("began", "ganbench.losses:Began", params={"gamma": 0.75, "lambda_k": 1e-3, "clip_k": False},
               default_penalty="none", revision=2, d_output="reconstruction",
               description="BEGAN (Berthelot et al.): autoencoder D, L_D = L(x) − k_t L(x̂), k_t equilibrium control.")

# ---------------------------------------------------------------- penalties (ganbench/penalties.py)

PENALTIES: Registry[Penalty] = Registry("penalty")
PENALTIES.declare("none", "ganbench.penalties:no_penalty", description="No penalty.")
PENALTIES.declare("wgan_gp", "ganbench.penalties:wgan_gp", aliases=("gp",),
                  description="E(‖∇D(x̃)‖ − 1)², x̃ = αx + (1 − α)x̂, α ~ U(0,1) per sample (Gulrajani et al.).")
PENALTIES.declare("dragan", "ganbench.penalties:dragan", revision=2,
                  description="E(‖∇σ(D(x̃))‖ − 1)² near real data, on D's sigmoid as the study (Kodali et al.).")
PENALTIES.declare("dragan_logit", "ganbench.penalties:dragan_logit",
                  description="E(‖∇D(x̃)‖ − 1)² near real data, on D's logit (DRAGAN paper's form; not the study's).")
PENALTIES.declare("r1", "ganbench.penalties:r1",
                  description="E‖∇D(x)‖² on real data, zero-centred (Mescheder et al.); λ = γ/2.")
PENALTIES.declare("r2", "ganbench.penalties:r2",
                  description="E‖∇D(x̂)‖² on generated data, zero-centred (Roth et al.; R3GAN); λ = γ/2.")
PENALTIES.declare("r1_r2", "ganbench.penalties:r1_r2", aliases=("r3gan",),
                  description="R1 + R2, R3GAN's regulariser γ/2 · (R1 + R2) with λ = γ/2 (Huang et al. 2024).")

# ---------------------------------------------------------------- architectures (ganbench/nets/)
# data_kinds, description and hparam_defaults (where the papers differ from the hyperparameter
# registry) become the Architecture's own fields (Architecture.declared); resolutions: tested sides;
# g_batch_norm: False where G has no batch norm whatever g_norm says (what conditional BN needs).

ARCHS: Registry[Architecture] = Registry("architecture")
# ensemble_pays: the devices on which `--ensemble auto` groups this architecture's runs (its nets have a grouped
# form, ganbench/ensemble/grouped.py). Measured (benchmarks/README.md, bench_hw_efficiency.py --ensemble 8): on a
# CPU grouped linears beat their members' (mlp 1.33× at the study's sizes) and grouped convolutions cost more than
# their members' (infogan 0.70×, dcgan 0.60×); GPUs are launch-bound, where grouping is the point.
ARCHS.declare("mlp", "ganbench.nets.mlp:MLP", data_kinds=("vector", "image"), hparam_defaults={"d_norm": "none"},
              resolutions=None, ensemble_pays=("cpu", "cuda"),
              description="PacGAN's MLP for 2D mixtures: G 4×400 BN-ReLU, D 3 maxout layers 200×5; images flattened")
ARCHS.declare("infogan", "ganbench.nets.infogan:INFOGAN", data_kinds=("image",), hparam_defaults={},
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              revision=2,  # 2: the study's LReLU G, BN constants, conv init, BEGAN autoencoder (1: ReLU G, PyTorch BN)
              ensemble_pays=("cuda",),
              description="InfoGAN-style conv net, the main network of Lucic et al. 2018 (2 stride-2 stages, FC 1024)")
ARCHS.declare("dcgan", "ganbench.nets.dcgan:DCGAN", data_kinds=("image",), hparam_defaults={},
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              ensemble_pays=("cuda",),
              description="DCGAN of the follow-up study: 5×5 stride-2 convs 64-512, up to 4 stages by resolution")
ARCHS.declare("sndcgan", "ganbench.nets.sndcgan:SNDCGAN", data_kinds=("image",), hparam_defaults={},
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              description="SNDCGAN of Miyato et al. 2018: 3×3/4×4 conv D, always spectral-normalised")
ARCHS.declare("resnet", "ganbench.nets.resnet:RESNET", data_kinds=("image",), hparam_defaults={},
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              description="SNGAN's CIFAR ResNet (Kurach et al. 2019): 3 up-blocks in G, residual D to 8×8, sum pool")
ARCHS.declare("sagan", "ganbench.nets.sagan:SAGAN", data_kinds=("image",), hparam_defaults={"d_norm": "spectral"},
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              description="SNGAN's ResNet with a SAGAN self-attention block in G and D (Zhang et al. 2019)")
ARCHS.declare("resnet_patch", "ganbench.nets.translation:RESNET_PATCH", data_kinds=("image",), hparam_defaults={},
              resolutions=(8, 16, 28, 32, 64), task="translation",
              description="CycleGAN's nets: ResNet G (reflection pad, instance norm), PatchGAN D; sized by resolution")
ARCHS.declare("mlp_pair", "ganbench.nets.translation:MLP_PAIR", data_kinds=("vector",), hparam_defaults={},
              resolutions=None, task="translation",
              description="Translation MLPs for vector domains: G and D with 3 hidden layers of 256 units")
ARCHS.declare("stylegan2", "ganbench.nets.stylegan2:STYLEGAN2", data_kinds=("image",),
              hparam_defaults={"d_norm": "none", "g_norm": "none"}, g_batch_norm=False,  # demodulation instead
              resolutions=(8, 16, 28, 32, 64),  # tested; any side ≥ 8 works
              description="A small StyleGAN2 (Karras et al. 2020): mapping net, modulated/demodulated convs, "
                          "noise inputs, skip G; residual D with minibatch std")


# ---------------------------------------------------------------- datasets (ganbench/data/)
# kind: "image" or "vector"; source: embedded (no files), torchvision (files under the data root) or
# folder; params: every parameter the factory accepts, with its default (data/params.merged); headline: the
# metric key the report ranks the dataset's runs by unless a suite or the reader says otherwise
# (ganbench/results/headline.py): what a researcher reads first for that kind of data; classes: how many
# classes its labels have (what conditioning needs; 0: unlabelled), a number or a function of its parameters,
# or None when only its files tell (an image folder with or without class subfolders).


def _polygon_classes(params: Any) -> int:
    """Polygons are labelled by vertex count when they mix counts (``vertices: [3, 4, 5]``)."""
    vertices = (params or {}).get("vertices", 3)
    return len(set(vertices)) if isinstance(vertices, (list, tuple)) and len(set(vertices)) > 1 else 0


def _ring_classes(params: Any) -> int:
    return int(params.get("modes", 8))


def _grid_classes(params: Any) -> int:
    return int(params.get("side", 5)) ** 2


def _polygon_pair_classes(params: Any) -> int:
    return len(params.get("vertices", (3, 4, 5)))


DATASETS: Registry[DatasetFactory] = Registry("dataset")
DATASETS.declare("ring", "ganbench.data.mixtures:ring", kind="vector", source="embedded", headline="mode_tv",
                 classes=_ring_classes,
                 params={"modes": 8, "radius": 1.0, "sigma": 0.01, "n_train": 100_000, "n_test": 10_000, "seed": 0},
                 description="8 Gaussians (σ 0.01) evenly on a circle of radius 1 (VEEGAN/PacGAN ring)")
DATASETS.declare("grid", "ganbench.data.mixtures:grid", kind="vector", source="embedded", headline="mode_tv",
                 classes=_grid_classes,
                 params={"side": 5, "spacing": 2.0, "sigma": 0.05, "n_train": 100_000, "n_test": 10_000, "seed": 0},
                 description="25 Gaussians (σ 0.05) on the lattice {−4,−2,0,2,4}² (VEEGAN/PacGAN grid)")
DATASETS.declare("polygons", "ganbench.data.polygons:convex_polygons", aliases=("triangles",), kind="image",
                 source="embedded", headline="polygon_f1", classes=_polygon_classes,
                 params={"vertices": 3,
                         "variant": "lucic2018",  # the study's data; "ellipse" is ganbench's earlier generator
                         "n_train": 60_000, "n_test": 10_000, "n_holdout": 10_000, "seed": 0},
                 description="Synthetic convex polygons, 28×28×1, with a known manifold (Lucic et al. 2018); "
                             "vertices: a count, or a list to mix counts as classes; variant: lucic2018 "
                             "(the study's notebook) or ellipse (ganbench's earlier generator)")
DATASETS.declare("digits", "ganbench.data.digits:digits", kind="image", headline="fid", source="embedded",
                 classes=10, params={"size": 8, "n_test": 300, "seed": 0},
                 description="scikit-learn's 1,797 8×8 handwritten digits (no download), optionally upsampled")
DATASETS.declare("mnist", "ganbench.data.torchvision_sets:mnist", kind="image", headline="fid", source="torchvision",
                 classes=10, params={},
                 description="MNIST handwritten digits, 28×28×1, 60k train / 10k test")
DATASETS.declare("fashion_mnist", "ganbench.data.torchvision_sets:fashion_mnist", aliases=("fashion-mnist",),
                 kind="image", headline="fid", source="torchvision", params={}, classes=10,
                 description="Fashion-MNIST clothing images, 28×28×1, 60k train / 10k test")
DATASETS.declare("cifar10", "ganbench.data.torchvision_sets:cifar10", aliases=("cifar-10",), kind="image",
                 headline="fid", source="torchvision", params={}, classes=10,
                 description="CIFAR-10 natural images, 32×32×3, 50k train / 10k test")
DATASETS.declare("celeba", "ganbench.data.torchvision_sets:celeba", kind="image", headline="fid", source="torchvision",
                 classes=0,
                 params={"size": 64, "crop": 160, "cache": True},
                 description="CelebA aligned faces, centre crop 160 resized to 64×64×3 (as the study)")
# Domain pairs (ganbench/data/pairs.py): task "translation"; paired: each sample's true counterpart is known.
DATASETS.declare("digit_styles", "ganbench.data.pairs:digit_styles", kind="image", headline="fid", source="embedded",
                 classes=10, task="translation", paired=True, params={"size": 16, "n_test": 300, "angle": 30.0, "seed": 0},
                 description="scikit-learn's digits in two styles: A upright and thin, B turned (angle, 30°) and thick "
                             "(3×3 dilation), the same digit in both (hidden ground truth)")
DATASETS.declare("polygon_styles", "ganbench.data.pairs:polygon_styles", kind="image", headline="fid",
                 source="embedded", classes=_polygon_pair_classes, task="translation",
                 paired=True, params={"vertices": [3, 4, 5], "n_train": 10_000, "n_test": 1_000, "seed": 0},
                 description="The study's convex polygons (28×28) outlined (A) and filled (B), the same polygon in "
                             "both, labelled by vertex count")
DATASETS.declare("ring_warp", "ganbench.data.pairs:ring_warp", kind="vector", headline="l1", source="embedded",
                 classes=_ring_classes, task="translation", paired=True,
                 params={"modes": 8, "sigma": 0.05, "n_train": 10_000, "n_test": 2_000, "seed": 0},
                 description="The 8-mode ring (A) and its image under an invertible warp (B), point for point")
DATASETS.declare("image_pairs", "ganbench.data.pairs:image_pairs", kind="image", headline="fid", source="folder",
                 classes=0, task="translation", paired=False,
                 params={"path": None, "size": 64, "channels": 0, "cache": True},
                 description="Your two domains in CycleGAN's layout: trainA/ trainB/ testA/ testB/ under path "
                             "(horse2zebra, monet2photo, ...), centre-cropped and resized; unpaired")
DATASETS.declare("image_folder", "ganbench.data.torchvision_sets:image_folder", kind="image", headline="fid",
                 source="folder", classes=None,
                 params={"path": None, "size": 64, "channels": 3, "test_fraction": 0.1, "seed": 0, "cache": True},
                 description="Your own images: a flat folder or class subfolders, centre-cropped and resized")

# ---------------------------------------------------------------- feature extractors (ganbench/features/)
# data_kinds: the data it works on; has_logits: whether it is a classifier (IS needs logits).

EXTRACTORS: Registry[ExtractorFactory] = Registry("feature extractor")
EXTRACTORS.declare("inception", "ganbench.features.inception:build_inception", data_kinds=("image",), has_logits=True,
                   description="Inception-v3 (torch-fidelity inception-v3-compat): 2048-d pool, 1008 unbiased logits")
EXTRACTORS.declare("raw", "ganbench.features.raw:build_raw", data_kinds=("image", "vector"), has_logits=False,
                   description="the data itself, flattened (2D mixtures and other low-dimensional data)")
EXTRACTORS.declare("dinov2", "ganbench.features.fidelity_extra:build_dinov2", data_kinds=("image",), has_logits=False,
                   description="DINOv2 ViT (torch-fidelity dinov2-vit-*; default ViT-S/14, 384-d CLS embedding)")
EXTRACTORS.declare("clip", "ganbench.features.fidelity_extra:build_clip", data_kinds=("image",), has_logits=False,
                   description="CLIP image encoder (torch-fidelity clip-*; default ViT-B/32, 512-d embedding)")
EXTRACTORS.declare("vgg16", "ganbench.features.fidelity_extra:build_vgg16", data_kinds=("image",), has_logits=False,
                   description="VGG16 (torch-fidelity vgg16): 4096-d fc2 after ReLU")
EXTRACTORS.declare("domain", "ganbench.features.domain:build_domain", data_kinds=("image", "vector"), has_logits=True,
                   needs_labels=True,
                   description="small classifier trained by ganbench on the dataset's own labels (cached, seeded)")

# ---------------------------------------------------------------- metrics (ganbench/metrics/)
# The metadata keys are described in ganbench/metrics/base.py: outputs ({key: higher is better}),
# ranges, needs, defaults (the function's keyword parameters), data_kinds, datasets, extractors, prepare.


def _modes(info: Any) -> float:
    """The number of mixture components of a 2-D mixture dataset (its ``centres``)."""
    return float(len(info.extras["centres"]))


def _max_reverse_kl(info: Any) -> float:
    """Reverse KL to the uniform mode distribution is at most log(modes) (all samples in one mode)."""
    return math.log(len(info.extras["centres"]))


METRICS: Registry[MetricFn] = Registry("metric")
METRICS.declare(
    "fid", "ganbench.metrics.fid:compute_fid",
    outputs={"fid": False},
    ranges={"fid": (0.0, math.inf)},
    needs=("pool", "real"),
    defaults={},
    data_kinds=("image", "vector"),
    prepare=Lazy("ganbench.metrics.fid:prepare_fid"),
    description="Fréchet distance between Gaussians fitted to real and generated pool features (Heusel et al. 2017).",
)
METRICS.declare(
    "cmmd", "ganbench.metrics.cmmd:compute_cmmd",
    outputs={"cmmd": False, "cmmd_vit_b32": False},
    ranges={"cmmd": (0.0, math.inf), "cmmd_vit_b32": (0.0, math.inf)},  # a squared kernel distance
    needs=("pool", "real"),
    defaults={},
    data_kinds=("image",),
    extractors=("clip",),
    description=("CMMD: RBF-kernel (σ 10) MMD ×1000 on CLIP embeddings (Jayasumana et al. 2024, the reference's "
                 "estimator); cmmd on ViT-L/14@336 as the paper, cmmd_vit_b32 on the default ViT-B/32."),
)
METRICS.declare(
    "fd_inf", "ganbench.metrics.fd_infinity:compute_fd_infinity",
    outputs={"fd_inf": False, "fd_inf_slope": False},
    ranges={"fd_inf": (-math.inf, math.inf), "fd_inf_slope": (-math.inf, math.inf)},  # a fit's intercept
    needs=("pool", "real"),
    defaults={"points": 15},
    data_kinds=("image", "vector"),
    prepare=Lazy("ganbench.metrics.fid:prepare_fid"),
    description=("FD∞: FID at 15 sample sizes, extrapolated linearly in 1/N to N → ∞ (Chong & Forsyth 2020, "
                 "as dgm-eval); fd_inf_slope: the 1/N coefficient, FID's sample-size bias."),
)
METRICS.declare(
    "is", "ganbench.metrics.inception_score:compute_is",
    outputs={"is_mean": True, "is_std": False},
    ranges={"is_mean": (1.0, math.inf), "is_std": (0.0, math.inf)},  # at most the number of classes
    needs=("logits",),
    defaults={"splits": 10},
    data_kinds=("image",),
    description=("Inception Score: exp of the mean KL between p(y|x) and p(y), mean ± std over splits "
                 "(Salimans et al. 2016)."),
)
METRICS.declare(
    "kid", "ganbench.metrics.kid:compute_kid",
    outputs={"kid_mean": False, "kid_std": False},
    ranges={"kid_mean": (-math.inf, math.inf), "kid_std": (0.0, math.inf)},  # unbiased MMD² can dip below 0
    needs=("pool", "real"),
    defaults={"subsets": 100, "subset_size": 1000, "degree": 3, "gamma": None, "coef0": 1.0},
    data_kinds=("image", "vector"),
    description=("Kernel Inception Distance: unbiased polynomial-kernel MMD² over random subsets "
                 "(Bińkowski et al. 2018)."),
)
METRICS.declare(
    "knn", "ganbench.metrics.knn:compute_knn",
    outputs={"knn": False, "knn_real": False, "knn_gen": False},
    ranges={"knn": (0.0, 1.0), "knn_real": (0.0, 1.0), "knn_gen": (0.0, 1.0)},
    needs=("pool", "real"),
    defaults={},
    data_kinds=("image", "vector"),
    description="Leave-one-out 1-NN two-sample accuracy on real ∪ generated features; 0.5 is ideal (Xu et al. 2018).",
)
METRICS.declare(
    "modes", "ganbench.metrics.modes:compute_modes",
    outputs={"modes": True, "hq_share": True, "reverse_kl": False, "modes_1pct": True, "mode_tv": False},
    ranges={"modes": (0.0, _modes), "hq_share": (0.0, 1.0), "reverse_kl": (0.0, _max_reverse_kl),
            "modes_1pct": (0.0, _modes), "mode_tv": (0.0, 1.0)},
    needs=("samples",),
    defaults={},
    data_kinds=("vector",),
    description=("Modes captured, high-quality share and reverse KL for Gaussian mixtures (VEEGAN/PacGAN "
                 "protocol), modes with ≥ 1 % of the samples, and the total-variation distance to the mixture's "
                 "mode shares (mode_tv)."),
)
METRICS.declare(
    "prc", "ganbench.metrics.prc:compute_prc",
    outputs={"precision": True, "recall": True, "f1": True},
    ranges={"precision": (0.0, 1.0), "recall": (0.0, 1.0), "f1": (0.0, 1.0)},
    needs=("pool", "real"),
    defaults={"k": 3},
    data_kinds=("image", "vector"),
    description=("Improved precision/recall: generated in real k-NN balls, real in generated k-NN balls "
                 "(Kynkäänniemi et al. 2019)."),
)
METRICS.declare(
    "prdc", "ganbench.metrics.prdc:compute_prdc",
    outputs={"density": True, "coverage": True},
    ranges={"density": (0.0, math.inf), "coverage": (0.0, 1.0)},
    needs=("pool", "real"),
    defaults={"k": 5},
    data_kinds=("image", "vector"),
    description="Density and coverage of generated features in real k-NN balls (Naeem et al. 2020).",
)
METRICS.declare(
    "vendi", "ganbench.metrics.vendi:compute_vendi",
    outputs={"vendi": True},
    ranges={"vendi": (1.0, math.inf)},  # 1: every sample alike; at most min(n, feature dimension)
    needs=("pool",),
    defaults={},
    data_kinds=("image", "vector"),
    description="Vendi score: exp of the eigenvalue entropy of the cosine-similarity matrix / n, the effective "
                "number of distinct samples (Friedman & Dieng 2023, as dgm-eval).",
)
METRICS.declare(
    "authenticity", "ganbench.metrics.memorisation:compute_authenticity",
    outputs={"authenticity": True},
    ranges={"authenticity": (0.0, 1.0)},
    needs=("pool", "train"),
    defaults={"n_train": 10_000},
    data_kinds=("image", "vector"),
    description="Authenticity: the share of samples not closer to their nearest training sample than it is to its "
                "own nearest neighbour (Alaa et al. 2022, as dgm-eval); copies of the training set score 0.",
)
METRICS.declare(
    "ct", "ganbench.metrics.memorisation:compute_ct",
    outputs={"ct": True},  # ≪ 0 copying (the direction it guards), ≫ 0 underfitting, ≈ 0 neither
    ranges={"ct": (-math.inf, math.inf)},
    needs=("pool", "real", "train"),
    defaults={"n_train": 10_000, "cells": 3, "min_gen": 20},
    data_kinds=("image", "vector"),
    description="C_T data-copying test (Meehan et al. 2020, as dgm-eval): per k-means cell, a Z-scored Mann–Whitney "
                "U of test vs generated distances to the training set, averaged; ≪ 0 means copying.",
)
METRICS.declare(
    "label_consistency", "ganbench.metrics.conditional:compute_label_consistency",
    outputs={"label_consistency": True},
    ranges={"label_consistency": (0.0, 1.0)},
    needs=("labels", "classifier"),
    defaults={},
    data_kinds=("image", "vector"),
    description=("Label consistency: the share of samples of a conditional G that the dataset's domain classifier "
                 "assigns to the label G was given (1/classes for labels G ignores)."),
)
METRICS.declare(
    "intra_fid", "ganbench.metrics.conditional:compute_intra_fid",
    outputs={"intra_fid": False, "intra_fid_worst": False},
    ranges={"intra_fid": (0.0, math.inf), "intra_fid_worst": (0.0, math.inf)},
    needs=("labels", "pool", "real", "real_labels"),
    defaults={},
    data_kinds=("image", "vector"),
    description=("Intra-class FID (Miyato & Koyama 2018): FID between the generated and real samples of each class, "
                 "averaged over classes (intra_fid) and at the worst class (intra_fid_worst)."),
)
METRICS.declare(
    "cas", "ganbench.metrics.conditional:compute_cas",
    outputs={"cas": True, "cas_real": True},
    ranges={"cas": (0.0, 1.0), "cas_real": (0.0, 1.0)},
    needs=("labels", "samples"),
    defaults={},
    data_kinds=("image", "vector"),
    description=("Classification Accuracy Score (Ravuri & Vinyals 2019): the domain classifier's recipe trained on "
                 "the labelled samples, its accuracy on the real test split; cas_real: trained on as many real "
                 "train samples (the ceiling)."),
)
METRICS.declare(
    "code_fidelity", "ganbench.metrics.conditional:compute_code_fidelity",
    outputs={"code_accuracy": True, "code_nmi": True},
    ranges={"code_accuracy": (0.0, 1.0), "code_nmi": (0.0, 1.0)},
    needs=("codes", "classifier"),
    defaults={},
    data_kinds=("image", "vector"),
    description=("InfoGAN code fidelity: the categorical code as a classifier of the samples' classes (by the domain "
                 "classifier), accuracy under the best one-to-one code–class matching (Hungarian), and their "
                 "normalised mutual information."),
)
METRICS.declare(
    "polygon_pr", "ganbench.metrics.polygon_pr:polygon_pr",
    outputs={"polygon_precision": True, "polygon_recall": True, "polygon_f1": True,
             "polygon_precision_se": False, "polygon_recall_se": False},
    ranges={"polygon_precision": (0.0, 1.0), "polygon_recall": (0.0, 1.0), "polygon_f1": (0.0, 1.0),
            "polygon_precision_se": (0.0, 0.5), "polygon_recall_se": (0.0, 0.5)},  # sqrt(p (1 − p) / n) ≤ ½
    needs=("samples", "generator"),
    defaults={  # why these values: the module docstring of ganbench/metrics/polygon_pr.py
        "threshold": 1.5,  # pixel-space L2 on [0, 1] images
        "n_precision": 2000,  # generated samples projected (standard error of precision ≤ 1.1 %)
        "n_recall": 100,  # held-out polygons to reach (the first of the "holdout" split); SE ≤ 5 %
        "recall_restarts": 3,  # latent starting points per held-out polygon
        "recall_steps": 100,  # Adam steps per search
        "recall_lr": 0.05,  # in units of the prior's per-coordinate standard deviation
        "fit_restarts": 2,  # bank neighbours refined per sample when projecting onto the manifold
        "fit_steps": 50,  # Adam steps of that projection
    },
    data_kinds=("image",),
    datasets=("polygons",),
    description="Precision / recall / F1 against the known convex-polygon manifold (Lucic et al. 2018)",
)

# Translation metrics (ganbench/metrics/translation.py): task "translation", fed by the translation evaluator;
# each reports A → B (_ab), B → A (_ba) and their mean (no suffix).
_TRANSLATION_KEYS = ("", "_ab", "_ba")
METRICS.declare(
    "content", "ganbench.metrics.translation:compute_content",
    outputs={f"content{s}": True for s in _TRANSLATION_KEYS},
    ranges={f"content{s}": (0.0, 1.0) for s in _TRANSLATION_KEYS},
    needs=("real_labels",), defaults={}, data_kinds=("image", "vector"), task="translation",
    description="Content preservation: the share of translations the target domain's classifier (the domain "
                "classifier on images, 5-NN on vectors) gives the source's label.",
)
METRICS.declare(
    "ground_truth", "ganbench.metrics.translation:compute_ground_truth",
    outputs={**{f"l1{s}": False for s in _TRANSLATION_KEYS}, **{f"psnr{s}": True for s in _TRANSLATION_KEYS},
             **{f"ssim{s}": True for s in _TRANSLATION_KEYS}},
    ranges={**{f"l1{s}": (0.0, math.inf) for s in _TRANSLATION_KEYS},
            **{f"psnr{s}": (-math.inf, math.inf) for s in _TRANSLATION_KEYS},
            **{f"ssim{s}": (-1.0, 1.0) for s in _TRANSLATION_KEYS}},
    needs=("ground_truth",), defaults={}, data_kinds=("image", "vector"), task="translation",
    description="Against the hidden true counterpart (paired domain pairs): mean L1, and on images PSNR and SSIM "
                "(Gaussian 11×11, σ 1.5, as scikit-image).",
)
METRICS.declare(
    "cycle", "ganbench.metrics.translation:compute_cycle",
    outputs={f"cycle{s}": False for s in _TRANSLATION_KEYS},
    ranges={f"cycle{s}": (0.0, math.inf) for s in _TRANSLATION_KEYS},
    needs=(), defaults={}, data_kinds=("image", "vector"), task="translation",
    description="Cycle reconstruction: mean L1 between an input and its round trip A → B → A (B → A → B).",
)

#: the metrics of the report's conditioning table, in reading order
CONDITIONING_METRICS = ("label_consistency", "intra_fid", "cas", "code_fidelity")


def task_of(registry: Registry, name: str | None) -> str:
    """The task of a kind, architecture, dataset, metric or calibration row: "translation" where its metadata
    says so, else "generation" (unknown names too)."""
    return registry.meta(name).get("task", "generation") if name and name in registry else "generation"


def names_of_task(registry: Registry, task: str = "generation") -> list[str]:
    """The entries of ``registry`` of one task, in registration order."""
    return [e.name for e in registry if e.metadata.get("task", "generation") == task]


def arch_names(task: str = "generation") -> list[str]:
    """The architectures of a task: generators from noise ("generation", every GAN and VAE net) or translators."""
    return names_of_task(ARCHS, task)


def dataset_task(name: str | None) -> str:
    """A dataset's task: "translation" for the domain pairs, else "generation" (unknown names too)."""
    return task_of(DATASETS, name)


def registries() -> dict[str, Registry]:
    """Section name → registry, in the order ``ganbench ls`` shows them (nothing is imported)."""
    return {"kinds": KINDS, "calibration": CALIBRATIONS, "conditioning": CONDITIONINGS, "augment": AUGMENTATIONS,
            "losses": LOSSES,
            "penalties": PENALTIES,
            "architectures": ARCHS, "datasets": DATASETS,
            "extractors": EXTRACTORS, "metrics": METRICS, "hparams": HPARAMS}

