"""StyleGAN fixtures: random-init generators written as NVlabs network pickles (the layout
StyleGAN2-ADA, StyleGAN3 and Autolume save) and rosinality checkpoints, plus a hostile pickle that
would write a file if anything executed it."""
import torch

from . import nvpickle_writer as nw
from .archs import stylegan2

# Small but complete: every block kind, clamp, noise, lr multiplier; 32 px.
SG2_INIT_KWARGS = dict(z_dim=32, w_dim=32, c_dim=0, img_resolution=32, img_channels=3,
                       mapping_kwargs=nw.easydict(dict(num_layers=2)), channel_base=512, channel_max=32,
                       num_fp16_res=4, conv_clamp=256)

SG2_SRC = '"""Network architectures from the paper "Analyzing and Improving the Image Quality of StyleGAN"."""\n# (stand-in source text; never executed)\n'


def _randomise(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("noise_strength"):
                p.copy_(torch.rand([], generator=g) * 0.2)
            elif name.endswith(".bias") and "affine" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for name, b in module.named_buffers():
            if name.endswith("noise_const"):
                b.copy_(torch.randn(b.shape, generator=g))


def sg2_generator(seed=0, kwargs=SG2_INIT_KWARGS):
    torch.manual_seed(seed)
    cfg = dict(z_dim=kwargs["z_dim"], c_dim=kwargs["c_dim"], w_dim=kwargs["w_dim"], img_resolution=kwargs["img_resolution"],
               img_channels=kwargs["img_channels"], channel_base=kwargs["channel_base"], channel_max=kwargs["channel_max"],
               mapping_layers=kwargs["mapping_kwargs"]["num_layers"], conv_clamp=kwargs["conv_clamp"])
    G = stylegan2.Generator(cfg).eval()
    _randomise(G, seed)
    with torch.no_grad():
        c = torch.nn.functional.one_hot(torch.arange(256) % max(1, G.c_dim), max(1, G.c_dim)).float() if G.c_dim else None
        G.mapping.w_avg.copy_(G.mapping(torch.randn([256, G.z_dim]), c).mean(0))
    return G


def _network_pickle(G, kwargs, src):
    wrapped = nw.Persistent(G, "Generator", src, init_kwargs=kwargs, drop={"walk"})
    D = torch.nn.Module()
    D.register_parameter("b4_out_weight", torch.nn.Parameter(torch.randn([1, 8])))
    return {
        "G": wrapped,
        "D": nw.Persistent(D, "Discriminator", src, init_kwargs=dict(c_dim=0, img_resolution=kwargs["img_resolution"])),
        "G_ema": wrapped,
        "augment_pipe": None,
        "training_set_kwargs": nw.easydict(dict(class_name="training.dataset.ImageFolderDataset", path="~/datasets/art.zip", resolution=kwargs["img_resolution"])),
    }


# StyleGAN3 configs T and R as NVlabs' train.py passes them (channels and layers cut down; 32 px).
SG3_T_INIT_KWARGS = dict(z_dim=32, w_dim=32, mapping_kwargs=nw.easydict(dict(num_layers=2)), channel_base=1024, channel_max=32,
                         magnitude_ema_beta=0.999, num_layers=6, margin_size=4, c_dim=0, img_resolution=32, img_channels=3)
SG3_R_INIT_KWARGS = dict(SG3_T_INIT_KWARGS, channel_base=2048, channel_max=64, conv_kernel=1, use_radial_filters=True)
SG3_SRC = '"""Generator architecture from the paper "Alias-Free Generative Adversarial Networks"."""\n# (stand-in source text; never executed)\n'


def sg3_generator(seed, kwargs):
    from .archs import stylegan3
    torch.manual_seed(seed)
    cfg = {k: v for k, v in kwargs.items() if k not in ("mapping_kwargs", "magnitude_ema_beta")}
    cfg["mapping_layers"] = kwargs["mapping_kwargs"]["num_layers"]
    G = stylegan3.Generator(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, b in G.named_buffers():
            if name.endswith("magnitude_ema"):
                b.fill_(float(torch.rand([], generator=g)) * 1.5 + 0.5)
        G.synthesis.input.affine.weight.copy_(torch.randn(G.synthesis.input.affine.weight.shape, generator=g) * 0.3)
        G.mapping.w_avg.copy_(G.mapping(torch.randn([256, G.z_dim]), None).mean(0))
    return G


def nvlabs_sg3(out, seed=0):
    nw.dump(_network_pickle(sg3_generator(seed, SG3_T_INIT_KWARGS), SG3_T_INIT_KWARGS, SG3_SRC), out)


def nvlabs_sg3r(out, seed=0):
    nw.dump(_network_pickle(sg3_generator(seed, SG3_R_INIT_KWARGS), SG3_R_INIT_KWARGS, SG3_SRC), out)


def nvlabs_sg2(out, seed=0):
    G = sg2_generator(seed)
    nw.dump(_network_pickle(G, SG2_INIT_KWARGS, SG2_SRC), out)


SG2_COND_INIT_KWARGS = dict(SG2_INIT_KWARGS, c_dim=4)


def nvlabs_sg2_cond(out, seed=0):
    """Class-conditional StyleGAN2-ADA (4 classes)."""
    nw.dump(_network_pickle(sg2_generator(seed, SG2_COND_INIT_KWARGS), SG2_COND_INIT_KWARGS, SG2_SRC), out)


class _WritesAFile:
    """Unpickling this runs exec(...), which writes `path`."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('this pickle ran code')",))


def hostile_pkl(out, seed=0):
    """A network pickle whose G_ema, when unpickled normally, writes OUT + '.pwned'."""
    import pickle
    with open(out, "wb") as f:
        pickle.dump({"G_ema": _WritesAFile(out + ".pwned"), "training_set_kwargs": {}}, f)


def nvlabs_other(out, seed=0):
    """A well-formed NVlabs persistent pickle whose generator is another architecture (a small
    convolutional decoder): the importer must say it is not a StyleGAN."""
    torch.manual_seed(seed)
    net = torch.nn.Module()
    net.add_module("fc", torch.nn.Linear(16, 64))
    net.add_module("deconv", torch.nn.ConvTranspose2d(4, 3, 4, 2, 1))
    G = nw.Persistent(net, "Generator", "# a different network (stand-in source text)\n", init_kwargs=dict(z_dim=16))
    nw.dump({"G": G, "G_ema": G, "training_set_kwargs": nw.easydict({})}, out)


# A rosinality checkpoint as its train.py saves it: g, d, g_ema state_dicts and the argparse args.
ROSINALITY_KWARGS = dict(z_dim=32, w_dim=32, c_dim=0, img_resolution=32, img_channels=3,
                         mapping_kwargs=nw.easydict(dict(num_layers=3)), channel_base=512, channel_max=32, conv_clamp=None)


def rosinality_sg2(out, seed=0):
    import argparse
    from .importers.rosinality import nvlabs_to_rosinality
    G = sg2_generator(seed, ROSINALITY_KWARGS)
    g_ema = nvlabs_to_rosinality(G)
    d = {"convs.0.0.weight": torch.randn([8, 3, 1, 1]), "final_linear.1.bias": torch.zeros([1])}
    args = argparse.Namespace(size=32, batch=16, iter=800000, channel_multiplier=2, r1=10.0, path="lmdb/art")
    torch.save({"g": g_ema, "d": d, "g_ema": g_ema, "args": args}, out)


# Real sizes, random weights (benchmarks: the cost of a network does not depend on its weights).
def _sg2_full(res):
    kw = dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=res, img_channels=3, mapping_kwargs=nw.easydict(dict(num_layers=8)),
              channel_base=32768, channel_max=512, num_fp16_res=4, conv_clamp=256)  # config F / Autolume's stylegan2

    def make(out, seed=0):
        nw.dump(_network_pickle(sg2_generator(seed, kw), kw, SG2_SRC), out)
    return make


nvlabs_sg2_256_full, nvlabs_sg2_512_full, nvlabs_sg2_1024_full = _sg2_full(256), _sg2_full(512), _sg2_full(1024)


def nvlabs_sg3t_512_full(out, seed=0):
    kw = dict(z_dim=512, w_dim=512, mapping_kwargs=nw.easydict(dict(num_layers=2)), channel_base=32768, channel_max=512,
              magnitude_ema_beta=0.999, c_dim=0, img_resolution=512, img_channels=3)  # train.py --cfg=stylegan3-t
    nw.dump(_network_pickle(sg3_generator(seed, kw), kw, SG3_SRC), out)


def hostile_pt(out, seed=0):
    """A torch.save checkpoint (rosinality layout) whose g_ema, when loaded with torch.load,
    writes OUT + '.pwned'."""
    torch.save({"g_ema": _WritesAFile(out + ".pwned"), "latent_avg": torch.zeros([8])}, out)
