//! How each resource looks through the webservice: its URL name, node names, fields (in
//! PrestaShop's order: `id`, the `webserviceParameters` fields, then the class definition's),
//! and associations; and a record, the values of one entity in that order.

/// How a column compares in filters and sorts (MySQL column type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Num,
    Date,
    Text,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldDef {
    pub name: &'static str,
    pub kind: Kind,
    /// `xlink_resource`: the value links to `<resource>/<value>` (not for 0 or empty).
    pub link: Option<&'static str>,
    /// A translatable field, one value per language.
    pub i18n: bool,
    /// A field with a getter: not in the table, rendered `notFilterable="true"`.
    pub dynamic: bool,
}

pub(crate) const fn int(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind: Kind::Int,
        link: None,
        i18n: false,
        dynamic: false,
    }
}

pub(crate) const fn num(name: &'static str) -> FieldDef {
    FieldDef {
        kind: Kind::Num,
        ..int(name)
    }
}

pub(crate) const fn date(name: &'static str) -> FieldDef {
    FieldDef {
        kind: Kind::Date,
        ..int(name)
    }
}

pub(crate) const fn text(name: &'static str) -> FieldDef {
    FieldDef {
        kind: Kind::Text,
        ..int(name)
    }
}

pub(crate) const fn lang(name: &'static str) -> FieldDef {
    FieldDef {
        i18n: true,
        ..text(name)
    }
}

pub(crate) const fn link(name: &'static str, resource: &'static str) -> FieldDef {
    FieldDef {
        link: Some(resource),
        ..int(name)
    }
}

pub(crate) const fn dynamic(field: FieldDef) -> FieldDef {
    FieldDef {
        dynamic: true,
        ..field
    }
}

#[derive(Debug)]
pub(crate) struct AssocDef {
    pub name: &'static str,
    pub node: &'static str,
    /// `None`: a virtual entity (`virtualEntity="true"`, no link per item); otherwise the API
    /// resource each item links to by its `id`.
    pub api: Option<&'static str>,
    pub fields: &'static [FieldDef],
}

#[derive(Debug)]
pub(crate) struct Schema {
    /// The URL segment (`/api/<resource>`).
    pub resource: &'static str,
    /// `objectsNodeName`: the list element.
    pub list_node: &'static str,
    /// `objectNodeName`: one entity.
    pub node: &'static str,
    pub description: &'static str,
    pub fields: &'static [FieldDef],
    pub assocs: &'static [AssocDef],
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<(usize, &FieldDef)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
}

/// One entity's values, aligned with its schema's fields and associations.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub id: u64,
    pub values: Vec<String>,
    /// Per association, its items; each item aligned with the association's fields.
    pub assocs: Vec<Vec<Vec<String>>>,
}

/// Builds a record field by field, by name.
pub(crate) struct Build {
    schema: &'static Schema,
    record: Record,
}

impl Build {
    pub fn new(schema: &'static Schema, id: u64) -> Self {
        let mut values = vec![String::new(); schema.fields.len()];
        values[0] = id.to_string();
        Build {
            schema,
            record: Record {
                id,
                values,
                assocs: vec![Vec::new(); schema.assocs.len()],
            },
        }
    }

    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        let (index, _) = self
            .schema
            .field(name)
            .unwrap_or_else(|| panic!("{} has no field {name}", self.schema.resource));
        self.record.values[index] = value.into();
        self
    }

    pub fn item(mut self, assoc: &str, values: &[(&str, String)]) -> Self {
        let (index, def) = self
            .schema
            .assocs
            .iter()
            .enumerate()
            .find(|(_, a)| a.name == assoc)
            .unwrap_or_else(|| panic!("{} has no association {assoc}", self.schema.resource));
        let mut item = vec![String::new(); def.fields.len()];
        for (name, value) in values {
            let position = def
                .fields
                .iter()
                .position(|f| f.name == *name)
                .unwrap_or_else(|| panic!("{assoc} has no field {name}"));
            item[position] = value.clone();
        }
        self.record.assocs[index].push(item);
        self
    }

    pub fn done(self) -> Record {
        self.record
    }
}
