//! Colours and text styles of the screen, with a plain variant for `NO_COLOR`.

use crate::trace::ActorState;
use ratatui::style::{Color, Modifier, Style};

/// Colours of actors, in actor order (the marker digit matches the number key).
const ACTOR_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightBlue,
    Color::LightRed,
];

/// Every style the views use. Without colour, meaning is carried by modifiers
/// (bold, reverse, underline) and by the characters themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// Without colour, as under `NO_COLOR`.
    pub fn plain() -> Theme {
        Theme { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn actor_color(&self, actor: usize) -> Color {
        if self.color {
            ACTOR_COLORS[actor % ACTOR_COLORS.len()]
        } else {
            Color::Reset
        }
    }

    pub fn actor(&self, actor: usize) -> Style {
        self.fg(self.actor_color(actor))
    }

    /// An actor's marker on its current line: the actor's colour as background.
    pub fn marker(&self, actor: usize) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(self.actor_color(actor))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn key(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }
    pub fn focus_border(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self) -> Style {
        self.dim()
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::LightGreen).add_modifier(Modifier::BOLD)
    }
    /// A row of the interleaving whose store loses another thread's update.
    pub fn lost_row(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn mode(&self, live: bool) -> Style {
        let c = if live {
            Color::LightRed
        } else {
            Color::LightGreen
        };
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(c)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// One timeline cell: its character and style. Without colour each state has
    /// its own character, so the states stay apart.
    pub fn state_cell(&self, actor: usize, s: ActorState) -> (&'static str, Style) {
        use ActorState::*;
        if !self.color {
            return match s {
                NotStarted => (" ", Style::new()),
                Running => ("█", Style::new()),
                Ready => ("·", Style::new()),
                WaitingGil => ("g", Style::new()),
                Blocked(_) => ("x", Style::new().add_modifier(Modifier::BOLD)),
                Sleeping => ("z", Style::new()),
                Done(_) => (" ", Style::new()),
            };
        }
        match s {
            NotStarted => (" ", Style::new()),
            Running => ("█", Style::new().fg(self.actor_color(actor))),
            Ready => ("─", Style::new().fg(Color::DarkGray)),
            WaitingGil => ("░", Style::new().fg(Color::Gray)),
            Blocked(_) => ("▒", Style::new().fg(Color::Red)),
            Sleeping => ("z", Style::new().fg(Color::Blue)),
            Done(_) => (" ", Style::new()),
        }
    }

    pub fn py_keyword(&self) -> Style {
        self.fg(Color::LightMagenta).add_modifier(Modifier::BOLD)
    }
    pub fn py_builtin(&self) -> Style {
        self.fg(Color::LightBlue)
    }
    pub fn py_string(&self) -> Style {
        self.fg(Color::LightGreen)
    }
    pub fn py_number(&self) -> Style {
        self.fg(Color::LightYellow)
    }
    pub fn py_comment(&self) -> Style {
        self.dim().add_modifier(Modifier::ITALIC)
    }
    /// `inline code` in lesson prose.
    pub fn code(&self) -> Style {
        self.fg(Color::LightYellow).add_modifier(Modifier::BOLD)
    }
    /// A heading inside the lesson panel.
    pub fn heading(&self) -> Style {
        self.fg(Color::LightCyan)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn py_def(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }
}
