"""The papers' model builders, one module per architecture (`fer_keras.models.i_mobilenetv2`
and `fer_keras.models.light_ntwrn` are these modules' functions of the same names)."""
