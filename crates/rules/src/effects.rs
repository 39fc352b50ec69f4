//! What each module did to a document, collected while the rules run and shown in the plan,
//! so that a bookkeeper reading a dry run sees every module's effect — or that it is off.

use ledgerlink_core::ModuleEffect;

#[derive(Debug, Default)]
pub struct Effects(Vec<ModuleEffect>);

impl Effects {
    pub fn note(&mut self, module: &str, effect: String) {
        self.0.push(ModuleEffect {
            module: module.to_string(),
            effect,
        });
    }

    /// The module is switched off for this connection.
    pub fn off(&mut self, module: &str) {
        self.note(module, "off".into());
    }

    pub fn into_vec(self) -> Vec<ModuleEffect> {
        self.0
    }
}
