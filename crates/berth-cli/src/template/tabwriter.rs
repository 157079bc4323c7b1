//! Column alignment like Docker's fork of Go's text/tabwriter with Docker's settings
//! (`NewWriter(out, 10, 1, 3, ' ', 0)`): tab-terminated cells in consecutive lines form a column
//! padded to max(10, widest cell + 3); the text after a line's last tab is never padded.

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

struct Cell<'s> {
    text: &'s str,
    width: usize,
}

/// Aligns tab-separated `text` (lines ending in `\n`) as Docker's table output does.
pub(super) fn align(text: &str) -> String {
    let lines: Vec<Vec<Cell<'_>>> = text
        .split('\n')
        .map(|line| {
            line.split('\t')
                .map(|t| Cell {
                    text: t,
                    width: display_width(t),
                })
                .collect()
        })
        .collect();
    let mut out = String::with_capacity(text.len() * 2);
    format(&mut out, &lines, &mut Vec::new());
    // Every line got a newline; the last one (the text after the final `\n`) has none.
    out.pop();
    out
}

/// Go's recursive column-block formatting over `lines`.
fn format(out: &mut String, lines: &[Vec<Cell<'_>>], widths: &mut Vec<usize>) {
    let column = widths.len();
    let mut start = 0;
    let mut this = 0;
    while this < lines.len() {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        // A block of consecutive lines that have a cell in this column.
        write_lines(out, &lines[start..this], widths);
        start = this;
        let mut width = MIN_WIDTH;
        while this < lines.len() && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].width + PADDING);
            this += 1;
        }
        widths.push(width);
        format(out, &lines[start..this], widths);
        widths.pop();
        start = this;
    }
    write_lines(out, &lines[start..], widths);
}

fn write_lines(out: &mut String, lines: &[Vec<Cell<'_>>], widths: &[usize]) {
    for line in lines {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell.text);
            if let Some(&w) = widths.get(j) {
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(cell.width)));
            }
        }
        out.push('\n');
    }
}

/// Terminal width of a string: East Asian wide characters count two columns, combining marks
/// and zero-width characters none.
pub(super) fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    match u {
        0x0300..=0x036F | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_min_width_and_widest_cell() {
        let out = align("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tx\n");
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     NAMES\nabc            busybox   x\n"
        );
    }

    #[test]
    fn columns_are_blocks_of_consecutive_lines() {
        // Go's doc example: b and c are in distinct columns.
        let out = align("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n");
        assert_eq!(
            out,
            "aaaa      bbb       d\naa        b         dd\na         \naa        cccc      eee\n"
        );
    }

    #[test]
    fn wide_cells_and_no_trailing_padding() {
        let out = align("名前\tX\nabcdefghijkl\tY\n");
        assert_eq!(out, "名前           X\nabcdefghijkl   Y\n");
        assert_eq!(align("single\n"), "single\n");
        assert_eq!(align("a\tb"), "a         b");
    }
}
