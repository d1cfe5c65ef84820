//! The playground screen (ratatui). Until it lands, the playground lists the lessons.

use crate::catalog::Catalog;
use crate::lesson::Lang;

/// Opens the playground on the lesson browser, or on `lesson`.
pub fn run_playground(catalog: &Catalog, lesson: Option<&str>, lang: Lang) -> anyhow::Result<()> {
    let _ = lesson;
    println!(
        "The playground screen is not built yet; these are the lessons. Try `interleave run balance-race`."
    );
    for l in catalog.lessons() {
        println!("  {:<16} {}", l.id, l.title.get(lang));
    }
    Ok(())
}
