/// Keys every RecBole sequential model's config carries that do not change the forward pass (dataset
/// field names, the loss, the initialisation); `Tools/export_recbole.py` writes them. (`n_items` is a
/// parameter: the file's value is config.json's top-level one.)
enum RecBoleUpstreamKeys {
    static let common: Set<String> = ["USER_ID_FIELD", "ITEM_ID_FIELD", "LIST_SUFFIX", "ITEM_LIST_LENGTH_FIELD",
                                      "NEG_PREFIX", "loss_type", "initializer_range"]
}
