/// Keys every RecBole sequential model's config carries that do not change the forward pass (dataset
/// field names, the dataset's own `n_items`, the loss); `Tools/export_recbole.py` writes them.
enum RecBoleUpstreamKeys {
    static let common: Set<String> = ["USER_ID_FIELD", "ITEM_ID_FIELD", "LIST_SUFFIX", "ITEM_LIST_LENGTH_FIELD",
                                      "NEG_PREFIX", "n_items", "loss_type", "initializer_range"]
}
