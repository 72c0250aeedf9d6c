//! How the console shows and takes values: decimal, hex or percent, and
//! channel numbering from 0 or 1.

/// How values are shown and typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayMode {
    /// 0..=255.
    #[default]
    Decimal,
    /// 00..=ff.
    Hex,
    /// 0..=100 percent of 255 (shown as `FL` at full, as ola_dmxconsole does).
    Percent,
}

impl DisplayMode {
    /// The next mode in the `m` cycle: decimal, hex, percent.
    pub fn next(self) -> Self {
        match self {
            Self::Decimal => Self::Hex,
            Self::Hex => Self::Percent,
            Self::Percent => Self::Decimal,
        }
    }

    /// The mode's name, as the header shows it.
    pub fn label(self) -> &'static str {
        mode_name(self)
    }

    /// How many digits a typed value may have.
    pub(super) fn max_digits(self) -> usize {
        match self {
            Self::Decimal | Self::Percent => 3,
            Self::Hex => 2,
        }
    }

    /// The largest value that can be typed (255, 0xff, 100 %).
    pub(super) fn max_typed(self) -> u32 {
        match self {
            Self::Decimal | Self::Hex => 255,
            Self::Percent => 100,
        }
    }

    pub(super) fn radix(self) -> u32 {
        match self {
            Self::Hex => 16,
            Self::Decimal | Self::Percent => 10,
        }
    }

    /// Whether `c` is a digit in this mode (hex accepts either case).
    pub fn is_digit(self, c: char) -> bool {
        c.is_digit(self.radix())
    }
}

/// Channel numbering shown in the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    /// Channels 1..=512, as lighting desks count.
    #[default]
    OneBased,
    /// Slots 0..=511, as the wire counts.
    ZeroBased,
}

impl Numbering {
    /// The number shown for slot index `slot` (0..512).
    pub fn label(self, slot: usize) -> usize {
        match self {
            Self::OneBased => slot + 1,
            Self::ZeroBased => slot,
        }
    }

    pub(super) fn toggled(self) -> Self {
        match self {
            Self::OneBased => Self::ZeroBased,
            Self::ZeroBased => Self::OneBased,
        }
    }
}

/// A value as a percentage of full, rounded (255 → 100, 128 → 50).
pub fn to_percent(value: u8) -> u8 {
    // (v * 100 + 127) / 255 <= (25500 + 127) / 255 = 100: fits in u8.
    ((u32::from(value) * 100 + 127) / 255) as u8
}

/// A percentage (0..=100) as a slot value, rounded; above 100 saturates.
/// Round-trips with [`to_percent`].
pub fn from_percent(percent: u8) -> u8 {
    let p = u32::from(percent.min(100));
    // (p * 255 + 50) / 100 <= (25500 + 50) / 100 = 255: fits in u8.
    ((p * 255 + 50) / 100) as u8
}

pub(super) fn mode_name(mode: DisplayMode) -> &'static str {
    match mode {
        DisplayMode::Decimal => "decimal",
        DisplayMode::Hex => "hex",
        DisplayMode::Percent => "percent",
    }
}

pub(super) fn mode_range(mode: DisplayMode) -> &'static str {
    match mode {
        DisplayMode::Decimal => "0..=255",
        DisplayMode::Hex => "00..=ff",
        DisplayMode::Percent => "0..=100",
    }
}
