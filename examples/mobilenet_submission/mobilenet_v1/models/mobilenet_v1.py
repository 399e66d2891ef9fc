"""MobileNetV1 (width 1.0, 224 pixels) in PyTorch, matching TensorFlow-slim's graph op for op.

Module names follow the TensorFlow scopes (``Conv2d_0``, ``Conv2d_1_depthwise``,
``Conv2d_1_pointwise`` ... ``Conv2d_13_pointwise``, ``AvgPool_1a``, ``Conv2d_1c_1x1``), so a
layer name reads the same in both frameworks. Two details keep the outputs equal to TensorFlow's:
'SAME' padding pads the extra pixel of a stride-2 convolution at the bottom/right only, and batch
norm uses epsilon 0.001. Inputs are RGB scaled to [-1, 1]; the 1001 outputs are ImageNet's 1000
classes shifted by one, after class 0, "background".
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

# (stride, output channels) of the 13 depthwise-separable blocks.
SEPARABLE_BLOCKS = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
                    (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024)]
NUM_CLASSES = 1001
BATCH_NORM_EPSILON = 1e-3


class ConvBlock(nn.Module):
    """TF 'SAME'-padded convolution (no bias), batch norm, ReLU6; its output is the block's activation."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, groups=1):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BATCH_NORM_EPSILON)
        self.relu = nn.ReLU6()

    def _same_padding(self, size):
        total = max((math.ceil(size / self.stride) - 1) * self.stride + self.kernel_size - size, 0)
        return total // 2, total - total // 2

    def forward(self, x):
        top, bottom = self._same_padding(x.shape[-2])
        left, right = self._same_padding(x.shape[-1])
        x = F.pad(x, (left, right, top, bottom))
        return self.relu(self.bn(self.conv(x)))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.Conv2d_0 = ConvBlock(3, 32, kernel_size=3, stride=2)
        channels = 32
        for index, (stride, out_channels) in enumerate(SEPARABLE_BLOCKS, start=1):
            setattr(self, f"Conv2d_{index}_depthwise", ConvBlock(channels, channels, 3, stride, groups=channels))
            setattr(self, f"Conv2d_{index}_pointwise", ConvBlock(channels, out_channels, 1, 1))
            channels = out_channels
        self.AvgPool_1a = nn.AdaptiveAvgPool2d(1)
        self.Dropout_1b = nn.Dropout(p=0.001)
        self.Conv2d_1c_1x1 = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.SpatialSqueeze = nn.Flatten()

    def forward(self, x):
        for index in range(len(SEPARABLE_BLOCKS) + 1):
            names = ["Conv2d_0"] if index == 0 else [f"Conv2d_{index}_depthwise", f"Conv2d_{index}_pointwise"]
            for name in names:
                x = getattr(self, name)(x)
        x = self.Dropout_1b(self.AvgPool_1a(x))
        return self.SpatialSqueeze(self.Conv2d_1c_1x1(x))
