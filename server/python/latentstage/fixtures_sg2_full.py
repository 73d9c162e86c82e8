"""StyleGAN2 at real sizes with random weights, as NVlabs network pickles (the config-f / paper512
networks: 512-d z and w, 8 mapping layers, channel_base 32768, channel_max 512): for the GPU check
and benchmarks, where the cost of a frame is what matters, not its weights. Hundreds of MB."""
from . import fixtures_stylegan as fs
from . import nvpickle_writer as nw


def kwargs(size):
    return dict(z_dim=512, w_dim=512, c_dim=0, img_resolution=size, img_channels=3,
                mapping_kwargs=nw.easydict(dict(num_layers=8)), channel_base=32768, channel_max=512,
                num_fp16_res=4, conv_clamp=256)


def write(out, seed, size):
    k = kwargs(size)
    G = fs.sg2_generator(seed, k)
    nw.dump(fs._network_pickle(G, k, fs.SG2_SRC), out)


def full_256(out, seed=0):
    write(out, seed, 256)


def full_512(out, seed=0):
    write(out, seed, 512)


def full_1024(out, seed=0):
    write(out, seed, 1024)
