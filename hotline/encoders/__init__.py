"""Sentence encoders behind one interface (offline USE-multilingual ONNX, sentence-transformers)."""
