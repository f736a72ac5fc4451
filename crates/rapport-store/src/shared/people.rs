//! People: the property schema, filters over contacts and saved segments.

use super::*;

pub(super) fn property_setting_from_row(row: &DbRow) -> Result<PropertySetting, StoreError> {
    Ok(PropertySetting {
        name: text(row, "name")?,
        r#type: parsed_prop_type(&text(row, "type")?)?,
        messenger_writable: row.try_get("messenger_writable").map_err(db_err)?,
    })
}

pub(super) fn parsed_prop_type(text: &str) -> Result<PropType, StoreError> {
    PropType::parse(text)
        .ok_or_else(|| StoreError::Other(format!("unknown property type {text:?}").into()))
}

pub(super) async fn save_property_setting(
    conn: &mut Conn,
    workspace: WorkspaceId,
    name: String,
    ty: Option<PropType>,
    messenger_writable: Option<bool>,
    now: Timestamp,
) -> Result<PropertySetting, StoreError> {
    lock_workspace(conn, workspace).await?;
    let existing = sqlx::query(for_update!(
        "SELECT name, type, messenger_writable FROM property_types WHERE workspace_id = $1 AND name = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(&name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut setting = match existing {
        Some(row) => {
            let setting = property_setting_from_row(&row)?;
            if ty.is_some_and(|ty| ty != setting.r#type) {
                return Err(ValidationError::field(
                    "type",
                    format!("this property holds {} values", setting.r#type.as_str()),
                )
                .into());
            }
            setting
        }
        None => {
            let Some(ty) = ty else {
                return Err(ValidationError::field("type", "a new property needs a type").into());
            };
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM property_types WHERE workspace_id = $1")
                    .bind(workspace.as_uuid())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
            if usize::try_from(count).map_err(data_err)? >= MAX_WORKSPACE_PROPERTIES {
                return Err(ValidationError::field(
                    "name",
                    format!("a workspace has at most {MAX_WORKSPACE_PROPERTIES} custom properties"),
                )
                .into());
            }
            sqlx::query(
                "INSERT INTO property_types (workspace_id, name, type, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(workspace.as_uuid())
            .bind(&name)
            .bind(ty.as_str())
            .bind(ms(now))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            PropertySetting {
                name,
                r#type: ty,
                messenger_writable: false,
            }
        }
    };
    if let Some(writable) = messenger_writable {
        setting.messenger_writable = writable;
        sqlx::query(
            "UPDATE property_types SET messenger_writable = $3 WHERE workspace_id = $1 AND name = $2",
        )
        .bind(workspace.as_uuid())
        .bind(&setting.name)
        .bind(writable)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(setting)
}

pub(super) fn compiler(workspace: WorkspaceId, online: &[Uuid]) -> crate::filter_sql::Compiler<'_> {
    crate::filter_sql::Compiler {
        dialect: DIALECT,
        workspace: workspace.as_uuid(),
        online,
    }
}

pub(super) fn segment_from_row(row: &DbRow) -> Result<Segment, StoreError> {
    Ok(Segment {
        id: SegmentId::from_uuid(uuid(row, "id")?),
        workspace_id: WorkspaceId::from_uuid(uuid(row, "workspace_id")?),
        name: text(row, "name")?,
        filter: json(row, "filter")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

pub(super) async fn save_segment(conn: &mut Conn, segment: Segment) -> Result<Segment, StoreError> {
    let row = sqlx::query(
        "INSERT INTO segments AS s (id, workspace_id, name, filter, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, filter = excluded.filter, updated_at = excluded.updated_at
           WHERE s.workspace_id = excluded.workspace_id
         RETURNING id, workspace_id, name, filter, created_at, updated_at",
    )
    .bind(segment.id.as_uuid())
    .bind(segment.workspace_id.as_uuid())
    .bind(&segment.name)
    .bind(Json(&segment.filter))
    .bind(ms(segment.created_at))
    .bind(ms(segment.updated_at))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref()
        .map(segment_from_row)
        .unwrap_or(Err(StoreError::NotFound))
}

pub(super) async fn delete_segment(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: SegmentId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM segments WHERE workspace_id = $1 AND id = $2")
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

#[async_trait]
impl PeopleStore for Backend {
    async fn property_settings(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<PropertySetting>, StoreError> {
        sqlx::query(
            concat!(
                "SELECT name, type, messenger_writable FROM property_types WHERE workspace_id = $1 ORDER BY ",
                bytewise!("name")
            ),
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(property_setting_from_row)
        .collect()
    }

    async fn save_property_setting(
        &self,
        workspace: WorkspaceId,
        name: String,
        ty: Option<PropType>,
        messenger_writable: Option<bool>,
        now: Timestamp,
    ) -> Result<PropertySetting, StoreError> {
        self.write(op!(
            save_property_setting,
            workspace,
            name,
            ty,
            messenger_writable,
            now
        ))
        .await
    }

    async fn property_types(&self, workspace: WorkspaceId) -> Result<PropTypes, StoreError> {
        load_types(self.reader(), workspace).await
    }

    async fn people_schema(&self, workspace: WorkspaceId) -> Result<PeopleSchema, StoreError> {
        let counts = |sql: &'static str| async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sql)
                .bind(workspace.as_uuid())
                .fetch_all(self.reader())
                .await
                .map_err(db_err)?;
            Ok::<_, StoreError>(
                rows.into_iter()
                    .map(|(name, n)| (name, u64::try_from(n).unwrap_or_default()))
                    .collect::<Vec<_>>(),
            )
        };
        let (custom, events, tags) = futures::try_join!(
            load_types(self.reader(), workspace),
            counts(concat!(
                "SELECT name, COUNT(*) FROM contact_events WHERE workspace_id = $1
                 GROUP BY name ORDER BY ",
                bytewise!("name"),
                " LIMIT 1000"
            )),
            counts(TAG_COUNTS),
        )?;
        Ok(PeopleSchema {
            custom,
            events,
            tags,
        })
    }

    async fn search_contacts(&self, search: ContactSearch) -> Result<ContactPage, StoreError> {
        use sea_query::{Expr, Query};
        let indexed = self.indexed_props(search.workspace_id).await?;
        self.index_filtered_props(&search, &indexed).await;
        let ready: Vec<String> = indexed
            .into_iter()
            .filter_map(|(name, ready)| ready.then_some(name))
            .collect();
        if let Some(page) = self.search_by_sets(&search, &ready).await? {
            return Ok(page);
        }
        let online: Vec<Uuid> = search.online.iter().map(|c| c.as_uuid()).collect();
        let matching = compiler(search.workspace_id, &online).matching(&search.filter);
        let (count_sql, count_values) = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from("contacts")
            .and_where(matching.clone())
            .build_sqlx(QUERY_BUILDER);
        let count = async {
            sqlx::query_scalar_with::<_, i64, _>(
                sqlx::AssertSqlSafe(count_sql.as_str()),
                count_values,
            )
            .fetch_one(self.reader())
            .await
            .map_err(db_err)
        };
        let page = async {
            if search.limit == 0 {
                return Ok(Vec::new());
            }
            self.page(&search, matching.clone()).await
        };
        let (count, contacts) = futures::try_join!(count, page)?;
        Ok(ContactPage {
            count: u64::try_from(count).map_err(data_err)?,
            contacts,
        })
    }

    async fn index_property_chunk(
        &self,
        workspace: WorkspaceId,
        name: String,
    ) -> Result<bool, StoreError> {
        self.write(op!(
            super::contact_sets::index_property_chunk,
            workspace,
            name
        ))
        .await
    }

    async fn save_segment(&self, segment: Segment) -> Result<Segment, StoreError> {
        self.write(op!(save_segment, segment)).await
    }

    async fn segment(&self, workspace: WorkspaceId, id: SegmentId) -> Result<Segment, StoreError> {
        let row = sqlx::query(
            "SELECT id, workspace_id, name, filter, created_at, updated_at FROM segments
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace.as_uuid())
        .bind(id.as_uuid())
        .fetch_one(self.reader())
        .await
        .map_err(db_err)?;
        segment_from_row(&row)
    }

    async fn segments(&self, workspace: WorkspaceId) -> Result<Vec<Segment>, StoreError> {
        sqlx::query(concat!(
            "SELECT id, workspace_id, name, filter, created_at, updated_at FROM segments
                 WHERE workspace_id = $1 ORDER BY ",
            bytewise!("name"),
            " LIMIT 500"
        ))
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?
        .iter()
        .map(segment_from_row)
        .collect()
    }

    async fn delete_segment(
        &self,
        workspace: WorkspaceId,
        id: SegmentId,
    ) -> Result<(), StoreError> {
        self.write(op!(delete_segment, workspace, id)).await
    }
}
