"""BrainCog's trained neuron and the benchmark's training networks, in PyTorch (`B` in the bodies).

The gradient and training rows of `npm run bench` time the same computations as braincog-fn's
in PyTorch autograd, written as BrainCog writes them:

- `QGateGrad`: braincog/base/strategy/surrogate.py's `quadratic_gate` (alpha 2, kept as a float32
  tensor as BrainCog's `SurrogateFunctionBase` keeps it), an autograd.Function;
- `LIFNode`: braincog/base/node/node.py's LIFNode (threshold 0.5, tau 2, QGateGrad), with
  `layer_by_layer`: it takes `[T*N, ...]`, loops over T in Python and returns `[T*N, ...]`;
  hard reset `mem * (1 - spike.detach())`;
- the stateless layers (nn.Linear, nn.Conv2d, nn.BatchNorm2d for tdBN, max pooling) run once on
  `[T*N, ...]`, as BrainCog's `layer_by_layer` modules do.

The networks take braincog-fn's initial params (CustomLinear's `[in, out]` weight becomes
nn.Linear's `[out, in]`), and `ours_order` lists the params in braincog-fn's order and layout, so
that gradients and updated params can be compared with braincog-fn's.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class QGateGrad(torch.autograd.Function):
    """BrainCog's quadratic_gate: forward x > 0; backward alpha - alpha^2 |x| where |x| <= 1/alpha."""

    @staticmethod
    def forward(ctx, x, alpha):
        if x.requires_grad:
            mask_zero = x.abs() > 1 / alpha
            grad_x = -alpha * alpha * x.abs() + alpha
            grad_x.masked_fill_(mask_zero, 0)
            ctx.save_for_backward(grad_x)
        return x.gt(0.0).float()

    @staticmethod
    def backward(ctx, grad_output):
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output * ctx.saved_tensors[0]
        return grad_input, None


ALPHA = torch.tensor(2.0)


def lif_steps(xs, threshold=0.5, tau=2.0):
    """BrainCog's LIFNode over the leading (time) axis of `xs`: the spikes, stacked."""
    mem = 0.0
    spikes = []
    for x in xs:
        mem = mem + (x - mem) / tau
        spike = QGateGrad.apply(mem - threshold, ALPHA)
        mem = mem * (1 - spike.detach())
        spikes.append(spike)
    return torch.stack(spikes)


class LIFNode(nn.Module):
    """BrainCog's LIFNode with layer_by_layer: `[T*N, ...]` in and out, looping over T."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def forward(self, x):
        return lif_steps(x.view(self.steps, -1, *x.shape[1:])).flatten(0, 1)


def linear_from(weight, bias):
    """nn.Linear from CustomLinear's `[in, out]` weight."""
    fc = nn.Linear(weight.shape[0], weight.shape[1], bias=bias is not None)
    with torch.no_grad():
        fc.weight.copy_(weight.t())
        if bias is not None:
            fc.bias.copy_(bias)
    return fc


class Mlp(nn.Module):
    """TR1: direct input repeated over T, Linear in->hidden, LIFNode, Linear hidden->out, mean over T."""

    def __init__(self, steps, w1, b1, w2, b2):
        super().__init__()
        self.steps = steps
        self.fc1 = linear_from(w1, b1)
        self.node1 = LIFNode(steps)
        self.fc2 = linear_from(w2, b2)

    def forward(self, x):
        n = x.shape[0]
        x = x.repeat(self.steps, 1)
        x = self.fc2(self.node1(self.fc1(x)))
        return x.view(self.steps, n, -1).mean(0)

    def ours_order(self):
        """(tensor, is a Linear weight) in braincog-fn's order."""
        return [(self.fc1.weight, True), (self.fc1.bias, False), (self.fc2.weight, True), (self.fc2.bias, False)]


def batch_norm(channels, weight, bias):
    bn = nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    return bn


def conv(weight):
    c = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], padding=weight.shape[2] // 2, bias=False)
    with torch.no_grad():
        c.weight.copy_(weight)
    return c


class Cnn(nn.Module):
    """TR2, the demo's spiking CNN (examples/train/network.ts), BrainCog-style.

    conv 1->16 5x5 and its tdBN once per image (the input is the same at every step), repeated
    over T; LIFNode; max pool 2; conv 16->32 5x5 and tdBN (a BatchNorm2d over T*N) on [T*N, ...];
    LIFNode; max pool 2; flatten; Linear 1568->10; mean over T.
    """

    def __init__(self, steps, p):
        super().__init__()
        self.steps = steps
        self.conv1 = conv(p["c1"])
        self.bn1 = batch_norm(16, p["g1"], p["h1"])
        self.node1 = LIFNode(steps)
        self.conv2 = conv(p["c2"])
        self.bn2 = batch_norm(32, p["g2"], p["h2"])
        self.node2 = LIFNode(steps)
        self.fc = linear_from(p["fw"], p["fb"])

    def forward(self, x):
        n = x.shape[0]
        x = self.bn1(self.conv1(x)).repeat(self.steps, 1, 1, 1)
        x = F.max_pool2d(self.node1(x), 2)
        x = F.max_pool2d(self.node2(self.bn2(self.conv2(x))), 2)
        x = self.fc(x.flatten(1))
        return x.view(self.steps, n, -1).mean(0)

    def ours_order(self):
        return [
            (self.conv1.weight, False),
            (self.bn1.weight, False),
            (self.bn1.bias, False),
            (self.conv2.weight, False),
            (self.bn2.weight, False),
            (self.bn2.bias, False),
            (self.fc.weight, True),
            (self.fc.bias, False),
        ]


def train_step(net, opt, x, y):
    """One training step as BrainCog's training loop: forward, cross-entropy, backward, Adam."""
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss


def checked_step(net, opt, x, y):
    """One training step; the loss, the gradients and the updated params in braincog-fn's order and layout."""
    loss = train_step(net, opt, x, y)
    ours = lambda t, linear: (t.t() if linear else t).detach().contiguous()
    order = net.ours_order()
    return [loss.detach().reshape(1)] + [ours(p.grad, lin) for p, lin in order] + [ours(p, lin) for p, lin in order]
