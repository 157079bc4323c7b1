//! `docker history` (`GET /images/{name}/history`): one item per entry of the config's `history`,
//! newest first, sized from the layers as Docker computes it; entries are named by image id only
//! as far as the image's parent chain is in the store (`<missing>` beyond).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ImageStore;
use super::repositories::Repositories;
use crate::config::parse_time;
use crate::digest::ImageId;
use crate::error::{Error, Result};

/// Go's zero `time.Time` in Unix seconds (a history entry without a time).
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// One item of Docker's image history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// The image id, or `<missing>`.
    #[serde(rename = "Id")]
    pub id: String,
    /// Unix seconds.
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    /// The image's tags (familiar form); `null` in JSON when none.
    #[serde(
        rename = "Tags",
        serialize_with = "null_if_empty",
        deserialize_with = "nullable"
    )]
    pub tags: Vec<String>,
    /// Bytes of the layer this entry added (0 for empty layers).
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "Comment")]
    pub comment: String,
}

fn null_if_empty<S: Serializer>(v: &[String], s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_empty() {
        s.serialize_none()
    } else {
        v.serialize(s)
    }
}

fn nullable<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl ImageStore {
    /// The history of an image, newest entry first.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let repos = Repositories::load(&self.image_dir)?;
        let id = self.resolve(&repos, name)?;
        let image = self.image_of(&repos, &id)?;
        let mut layers = image.layers.iter();
        let mut items = Vec::with_capacity(image.config.history.len());
        for h in &image.config.history {
            let size = if h.empty_layer {
                0
            } else {
                let layer = layers
                    .next()
                    .ok_or_else(|| Error::Corrupt("too many non-empty layers in History section".into()))?;
                i64::try_from(layer.size).unwrap_or(i64::MAX)
            };
            items.push(HistoryItem {
                id: "<missing>".into(),
                created: h
                    .created
                    .as_deref()
                    .and_then(parse_time)
                    .map_or(ZERO_TIME_UNIX, |t| t.unix_timestamp()),
                created_by: h.created_by.clone(),
                tags: Vec::new(),
                size,
                comment: h.comment.clone(),
            });
        }
        items.reverse();
        let mut next: Option<ImageId> = Some(id);
        for item in &mut items {
            let Some(id) = next.take() else { break };
            item.tags = repos
                .refs_of(&id)
                .into_iter()
                .filter(|r| r.tag().is_some() && r.digest().is_none())
                .map(|r| r.familiar())
                .collect();
            item.id = id.to_string();
            next = match self.meta.read_image(&id)?.and_then(|m| m.parent) {
                Some(p) if self.meta.read_image(&p)?.is_some() => Some(p),
                _ => None,
            };
        }
        Ok(items)
    }
}
